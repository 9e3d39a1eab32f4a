// dabt_excl: an unaligned load-exclusive takes an Alignment fault whatever SCTLR_ELx.A says
// (Arm ARM, "Alignment of data accesses": exclusives and acquire/release accesses must be
// aligned). A Data Abort at the same EL, EC 0x25, DFSC 0b100001, FAR = the unaligned
// address, ELR = the load; at EL1 and then at EL2.
// This is the alignment case both emulators agree on: Unicorn (QEMU 5.0's translator) does
// not check SCTLR.A, nor Device-memory alignment, for ordinary loads (see dabt_align.s).

    .include "probe.inc"

probe_main:
    LINE    "dabt_excl: unaligned ldxr x0 at EL1, then ldxr w3 at EL2"
    ENTER_EL1
    ldr     x1, =(PROBE_SCRATCH + 1)
    ldxr    x0, [x1]
    PRINT_SYSREG CurrentEL
    RAISE_TO_EL2
    ldr     x1, =(PROBE_SCRATCH + 6)
    ldxr    w3, [x1]
    PRINT_SYSREG CurrentEL
    EXIT    0
