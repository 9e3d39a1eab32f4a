// dabt_align: an unaligned load with SCTLR_ELx.A=1 takes an Alignment fault (Arm
// ARM, "Alignment of data accesses"): a Data Abort at the same EL, EC 0x25, DFSC
// 0b100001, FAR_ELx = the unaligned virtual address, ELR_ELx = the load. Done at
// EL1 (to EL1) and at EL2 (to EL2). The MMU is off, so data accesses are
// Device-nGnRnE and would fault on alignment even without SCTLR.A; A=1 makes the
// cause explicit.
// WnR=0 (load). At EL1: ESR_EL1 = 0x96000021 (ISV=0: no instruction syndrome for
// an abort taken to EL1).
// QEMU oddity at EL2: it reports ISV=1 with SAS=word and SRT=3 (ESR_EL2 =
// 0x97830021) because it fills the instruction syndrome for every data abort
// routed to EL2 (target/arm merge_syn_data_abort), while the Arm ARM gives ISV=1 in
// ESR_EL2 only for stage-2 aborts. Unicorn builds the same syndrome, so the
// differential test still compares like with like; kept on purpose.

    .include "probe.inc"

probe_main:
    LINE    "dabt_align: unaligned ldr x0 at EL1, then ldr w3 at EL2"
    ldr     x0, =(SCTLR_EL1_INIT | SCTLR_A)
    msr     SCTLR_EL1, x0
    ENTER_EL1
    ldr     x1, =(PROBE_SCRATCH + 1)
    ldr     x0, [x1]
    PRINT_SYSREG CurrentEL
    RAISE_TO_EL2
    ldr     x0, =(SCTLR_EL2_INIT | SCTLR_A)
    msr     SCTLR_EL2, x0
    isb
    ldr     x1, =(PROBE_SCRATCH + 6)
    ldr     w3, [x1]
    PRINT_SYSREG CurrentEL
    EXIT    0
