// sysreg_trap: system register accesses trapped by HCR_EL2 (EC 0x18, "MSR, MRS or
// System instruction"), ISS = Op0[21:20] Op2[19:17] Op1[16:14] CRn[13:10] Rt[9:5]
// CRm[4:1] Direction[0] (1 = read).
// 1. HCR_EL2.TVM=1: `msr sctlr_el1, x5` at EL1 -> EL2; SCTLR_EL1 is (3,0,1,0,0):
//    ISS 0x3004a0 -> ESR_EL2 0x623004a0.
// 2. HCR_EL2.TID3=1: `mrs x2, id_aa64mmfr0_el1` at EL1 -> EL2; (3,0,0,7,0) read:
//    ISS 0x30004f -> ESR_EL2 0x6230004f.
// 3. `mrs x0, sctlr_el1` at EL0 is UNDEFINED (EL1 register), so it is taken to EL1
//    with EC 0x00, not 0x18 -> ESR_EL1 0x02000000.

    .include "probe.inc"

probe_main:
    LINE    "sysreg_trap: TVM msr sctlr_el1; TID3 mrs id_aa64mmfr0_el1; EL0 mrs sctlr_el1"
    ldr     x0, =(HCR_RW | HCR_TVM | HCR_TID3)
    msr     HCR_EL2, x0
    isb
    ENTER_EL1
    ldr     x5, =SCTLR_EL1_INIT
    msr     SCTLR_EL1, x5
    PRINT_SYSREG CurrentEL
    mrs     x2, ID_AA64MMFR0_EL1
    PRINT_SYSREG CurrentEL
    ENTER_EL0
    mrs     x0, SCTLR_EL1
    LINE    "back at EL0"
    RAISE_TO_EL1
    PRINT_SYSREG CurrentEL
    EXIT    0
