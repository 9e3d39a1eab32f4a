// fp_trap: FP/SIMD access traps (Arm ARM, CPACR_EL1.FPEN and CPTR_EL2.TFP).
// 1. CPACR_EL1.FPEN=0b00: an FP instruction at EL1 -> EL1, EC 0x07.
// 2. FPEN=0b11 and CPTR_EL2.TFP=1: the same at EL1 -> EL2, EC 0x07.
// 3. TFP=1 also traps EL2's own FP accesses -> EL2 current-EL vector, EC 0x07.
// 4. TFP=0: the instruction runs, no exception.
// ISS from AArch64 (Armv8.0): CV=1, COND=0b1110 -> ESR = 0x1fe00000; ELR = the
// trapped instruction.

    .include "probe.inc"

probe_main:
    LINE    "fp_trap: fmov at EL1 with FPEN=0; at EL1 and EL2 with CPTR_EL2.TFP=1"
    msr     CPACR_EL1, xzr
    ENTER_EL1
    fmov    d0, x1
    PRINT_SYSREG CurrentEL
    RAISE_TO_EL2
    mov     x0, #(3 << CPACR_FPEN_SHIFT)
    msr     CPACR_EL1, x0
    ldr     x0, =(CPTR_EL2_RES1 | CPTR_TFP)
    msr     CPTR_EL2, x0
    isb
    ENTER_EL1
    fmov    d0, x1
    PRINT_SYSREG CurrentEL
    RAISE_TO_EL2
    fmov    d0, x1
    PRINT_SYSREG CurrentEL
    ldr     x0, =CPTR_EL2_RES1
    msr     CPTR_EL2, x0
    isb
    fmov    d0, x1
    LINE    "fmov at EL2 with TFP=0: no exception"
    EXIT    0
