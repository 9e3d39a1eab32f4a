// code_coherence: code patched through another virtual address runs as patched.
//
// EL2 stage 1 maps RAM twice with 1 GiB blocks: at its own address (where this probe runs)
// and at an alias 1 GiB higher. A function `patched` starts `movz x0, #1; ret`. Each round
// writes `movz x0, #N` over its first instruction through the alias, does the maintenance
// the Arm ARM asks of self-modifying code (DC CVAU, DSB, IC IVAU, DSB, ISB) and calls it.
// The same write through the function's own address follows, and one round writes twice
// through the alias before the call. Every call must return the last value written: a CPU
// that ran the code it translated before the write would print an older one.
//
// Translation (TCR_EL2): T0SZ=25 (39-bit VA, walk starts at level 1), 4 KiB granule, Normal
// write-back tables. MAIR_EL2 attr0 = Normal WB, attr1 = Device-nGnRnE.

    .include "probe.inc"

.equ CC_L1,                 PROBE_SCRATCH
.equ CC_ALIAS,              0x40000000              // alias VA = PA + this
.equ CC_TCR,                0x80803519
.equ CC_MAIR,               0x00ff
.equ CC_DEVICE_BLOCK,       0x405                   // AttrIndx 1, AF, block
.equ CC_NORMAL_BLOCK,       0x701                   // AttrIndx 0, Inner Shareable, AF, block
.equ SCTLR_M_C_I,           0x1005
.equ MOVZ_X0,               0xd2800000              // movz x0, #imm16 (imm16 at bit 5)

probe_main:
    LINE    "code_coherence: patch a function through an alias VA and through its own VA"
    ldr     x0, =CC_L1
    mov     x1, #512
cc_zero:
    str     xzr, [x0], #8
    subs    x1, x1, #1
    b.ne    cc_zero
    ldr     x0, =CC_L1
    ldr     x1, =CC_DEVICE_BLOCK                    // VA 0: devices (the UART)
    str     x1, [x0, #0]
    ldr     x1, =(RAM_BASE | CC_NORMAL_BLOCK)       // VA 1 GiB: RAM, identity
    str     x1, [x0, #8]
    str     x1, [x0, #16]                           // VA 2 GiB: the same RAM again
    ldr     x0, =CC_MAIR
    msr     MAIR_EL2, x0
    ldr     x0, =CC_TCR
    msr     TCR_EL2, x0
    ldr     x0, =CC_L1
    msr     TTBR0_EL2, x0
    dsb     ish
    tlbi    alle2
    dsb     ish
    isb
    mrs     x0, SCTLR_EL2
    ldr     x1, =SCTLR_M_C_I
    orr     x0, x0, x1
    msr     SCTLR_EL2, x0
    isb

    bl      patched
    PRINT_XREG "first call", x0

    mov     x4, #2
    bl      patch_alias
    bl      patched
    PRINT_XREG "alias 2", x0

    mov     x4, #3
    bl      patch_alias
    bl      patched
    PRINT_XREG "alias 3", x0

    mov     x4, #4
    bl      patch_own
    bl      patched
    PRINT_XREG "own 4", x0

    mov     x4, #5
    bl      patch_alias
    mov     x4, #6
    bl      patch_alias
    bl      patched
    PRINT_XREG "alias 5 then 6", x0

    mov     x4, #7
    bl      patch_alias
    bl      patched
    PRINT_XREG "alias 7", x0
    EXIT    0

// Write `movz x0, #x4` over patched's first instruction at VA x2, then the maintenance for
// the function's own VA x3. Clobbers x1-x3.
patch_alias:
    adr     x3, patched
    ldr     x2, =CC_ALIAS
    add     x2, x3, x2
    b       patch_at
patch_own:
    adr     x3, patched
    mov     x2, x3
patch_at:
    ldr     w1, =MOVZ_X0
    orr     w1, w1, w4, lsl #5
    str     w1, [x2]
    dc      cvau, x2
    dsb     ish
    ic      ivau, x3
    dsb     ish
    isb
    ret

    .balign 64
patched:
    movz    x0, #1
    ret
