// pc_align: a PC that is not a multiple of 4 (Arm DDI 0487, D1.10.4 "PC alignment checking").
// The fault is taken when the core would execute from the misaligned PC, with EC 0x22, IL=1,
// ISS 0, and FAR_ELx = ELR_ELx = the misaligned address.
// 1. `blr` to an address 2 past an instruction, at EL2 -> EL2 sync_cur_spx.
// 2. the same at EL1 -> EL1 sync_cur_spx.
// 3. ERET from EL2 to EL1 with ELR_EL2 = an address 1 past an instruction: the fault is taken
//    at EL1, where execution was going to continue.
// Each handler returns to x30, where the probe goes on.

    .include "probe.inc"

probe_main:
    LINE    "pc_align: blr to a misaligned address at EL2 and EL1, eret to a misaligned ELR"
    adr     x0, target
    add     x0, x0, #2
    blr     x0
    LINE    "back at EL2"
    ENTER_EL1
    adr     x0, target
    add     x0, x0, #2
    blr     x0
    LINE    "back at EL1"
    RAISE_TO_EL2
    adr     x0, target
    add     x0, x0, #1
    msr     ELR_EL2, x0
    mov     x0, #SPSR_EL1H_MASKED
    msr     SPSR_EL2, x0
    adr     x30, after_eret
    isb
    eret
after_eret:
    PRINT_SYSREG CurrentEL
    EXIT    0

target:
    nop
    nop
    ret
