// timer_access: who may touch which generic timer register (Arm DDI 0487, D11 and the
// access pseudocode of each CNT* register in D19, HCR_EL2.E2H = 0, EL3 present).
// 1. EL2 registers from EL1 (CNTVOFF_EL2, CNTHCTL_EL2, CNTHP_CTL/CVAL/TVAL_EL2), read and
//    write: UNDEFINED, taken to EL1 with EC 0x00 (ESR_EL1 0x02000000). They must never reach
//    the timer model: a tenant may not move the hypervisor's counter offset or its timer.
// 2. CNTKCTL_EL1 and an EL2 register from EL0: UNDEFINED, to EL1.
// 3. Writes to the read-only counters CNTPCT_EL0 / CNTVCT_EL0 (no MSR encoding): UNDEFINED,
//    at EL2 and at EL1.
// 4. CNTFRQ_EL0 written at EL1 and at EL2, below the highest EL (EL3).
// After each EL1 access the probe prints CNTVOFF_EL2 and CNTHP_CTL_EL2 from EL2 to show the
// attempted writes changed nothing.

    .include "probe.inc"

.macro SHOW_EL2_TIMER
    RAISE_TO_EL2
    PRINT_SYSREG CNTVOFF_EL2
    PRINT_SYSREG CNTHP_CTL_EL2
    ENTER_EL1
.endm

probe_main:
    LINE    "timer_access: EL2 timer registers from EL1/EL0, counter writes, CNTFRQ_EL0 writes"
    msr     CNTVOFF_EL2, xzr
    msr     CNTHP_CTL_EL2, xzr
    mov     x0, #3
    msr     CNTHCTL_EL2, x0
    isb
    ENTER_EL1
    LINE    "EL1 writes"
    mov     x1, #0x1000
    msr     CNTVOFF_EL2, x1
    msr     CNTHCTL_EL2, xzr
    mov     x1, #1
    msr     CNTHP_CTL_EL2, x1
    msr     CNTHP_CVAL_EL2, xzr
    msr     CNTHP_TVAL_EL2, xzr
    SHOW_EL2_TIMER
    LINE    "EL1 reads"
    mrs     x2, CNTVOFF_EL2
    mrs     x2, CNTHCTL_EL2
    mrs     x2, CNTHP_CTL_EL2
    mrs     x2, CNTHP_CVAL_EL2
    mrs     x2, CNTHP_TVAL_EL2
    LINE    "EL1 counter writes"
    msr     S3_3_C14_C0_1, x1
    msr     S3_3_C14_C0_2, x1
    LINE    "EL1 CNTFRQ_EL0 write"
    mrs     x3, CNTFRQ_EL0
    msr     CNTFRQ_EL0, x3
    mov     x0, #3
    msr     CNTKCTL_EL1, x0
    isb
    ENTER_EL0
    LINE    "EL0"
    mrs     x4, CNTKCTL_EL1
    mrs     x4, CNTVOFF_EL2
    msr     CNTHP_CTL_EL2, x1
    msr     CNTFRQ_EL0, x1
    RAISE_TO_EL1
    RAISE_TO_EL2
    LINE    "EL2 counter writes and CNTFRQ_EL0 write"
    msr     S3_3_C14_C0_1, x1
    mrs     x3, CNTFRQ_EL0
    msr     CNTFRQ_EL0, x3
    PRINT_SYSREG CNTVOFF_EL2
    PRINT_SYSREG CNTHP_CTL_EL2
    EXIT    0
