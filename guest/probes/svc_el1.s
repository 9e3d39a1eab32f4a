// svc_el1: SVC #0x42 executed at EL1 is taken to EL1 (Arm ARM, SVC: it targets
// EL1 unless HCR_EL2.TGE). Entry from the same EL with SPSel=1 uses the
// "current EL, SP_ELx" synchronous vector (VBAR_EL1 + 0x200).
// Expected: ESR_EL1 = EC 0x15 (SVC in AArch64), IL=1, ISS = imm16 = 0x42
// -> 0x56000042; ELR_EL1 = the instruction after the SVC; SPSR_EL1 = EL1h, DAIF masked.

    .include "probe.inc"

probe_main:
    LINE    "svc_el1: svc #0x42 at EL1"
    ENTER_EL1
    PRINT_SYSREG CurrentEL
    svc     #0x42
    PRINT_SYSREG CurrentEL
    EXIT    0
