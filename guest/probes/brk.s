// brk: BRK #0x99 at EL1 is taken to EL1 (EC 0x3C, IL=1, ISS = imm16) -> ESR_EL1 =
// 0xf2000099; ELR_EL1 = the BRK itself (a breakpoint's preferred return address is
// the instruction). BRK generates its exception regardless of MDSCR/OSLSR debug
// state, so also at EL2: ESR_EL2 = 0xf2000100 for BRK #0x100.

    .include "probe.inc"

probe_main:
    LINE    "brk: brk #0x99 at EL1, brk #0x100 at EL2"
    ENTER_EL1
    brk     #0x99
    PRINT_SYSREG CurrentEL
    RAISE_TO_EL2
    brk     #0x100
    PRINT_SYSREG CurrentEL
    EXIT    0
