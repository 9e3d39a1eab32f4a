// timer_trap: generic timer accesses trapped by their access controls (EC 0x18).
// 1. CNTHCTL_EL2.EL1PCTEN=0: `mrs x3, cntpct_el0` at EL1 -> EL2, a read of (3,3,14,0,1)
//    with Rt=3: ISS 0x32f861 -> ESR_EL2 0x6232f861.
// 2. CNTHCTL_EL2.EL1PCEN=0: `msr cntp_ctl_el0, x4` at EL1 -> EL2, a write of
//    (3,3,14,2,1), Rt=4: ISS 0x32f884 -> ESR_EL2 0x6232f884.
// 3. CNTKCTL_EL1.EL0VCTEN=0: `mrs x5, cntvct_el0` at EL0 -> EL1 (EC 0x18, read of
//    (3,3,14,0,2), Rt=5): ESR_EL1 0x6234f8a1.
// The virtual counter at EL1 is never trapped by CNTHCTL_EL2 (no E2H): read it and go on.

    .include "probe.inc"

probe_main:
    LINE    "timer_trap: CNTHCTL_EL2 traps EL1 physical counter/timer; CNTKCTL_EL1 traps EL0"
    msr     CNTHCTL_EL2, xzr
    isb
    ENTER_EL1
    mrs     x3, CNTPCT_EL0
    PRINT_SYSREG CurrentEL
    mov     x4, #0
    msr     CNTP_CTL_EL0, x4
    PRINT_SYSREG CurrentEL
    mrs     x6, CNTVCT_EL0
    LINE    "EL1 read CNTVCT_EL0 without a trap"
    msr     CNTKCTL_EL1, xzr
    isb
    ENTER_EL0
    mrs     x5, CNTVCT_EL0
    LINE    "back at EL0"
    RAISE_TO_EL1
    PRINT_SYSREG CurrentEL
    EXIT    0
