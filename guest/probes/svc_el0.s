// svc_el0: SVC #7 executed at EL0 is taken to EL1 (HCR_EL2.TGE=0) through the
// "lower EL using AArch64" synchronous vector (VBAR_EL1 + 0x400).
// Expected: ESR_EL1 = EC 0x15, IL=1, imm16 = 7 -> 0x56000007; ELR_EL1 = the
// instruction after the SVC; SPSR_EL1.M = EL0t (0b0000) with DAIF as set on entry.
// CurrentEL is not readable at EL0 (UNDEFINED), so it is printed after RAISE_TO_EL1.

    .include "probe.inc"

probe_main:
    LINE    "svc_el0: svc #7 at EL0"
    ENTER_EL1
    ENTER_EL0
    LINE    "at EL0"
    svc     #7
    LINE    "back at EL0"
    RAISE_TO_EL1
    PRINT_SYSREG CurrentEL
    EXIT    0
