// HVC round trip: EL1 calls `hvc #0` in a loop; the EL2 handler returns at once with ERET.
// One iteration = exception entry to EL2 + ERET + three EL1 instructions.
.include "bench.inc"

_start:
    adr     x0, vectors
    msr     vbar_el2, x0
    mov     x0, #(1 << 31)          // HCR_EL2.RW: EL1 is AArch64
    msr     hcr_el2, x0
    mov     x0, #0x3c5              // EL1h, DAIF masked
    msr     spsr_el2, x0
    adr     x0, el1_entry
    msr     elr_el2, x0
    isb
    eret

el1_entry:
    ldr     x0, iterations
el1_loop:
    hvc     #0
    subs    x0, x0, #1
    b.ne    el1_loop
    hvc     #1                      // done

    .balign 0x800
vectors:
    .rept   8                       // current-EL slots: never expected here; end with code 1
    .balign 0x80
    b       unexpected
    .endr
    .balign 0x80
sync_lower_a64:
    mrs     x9, esr_el2
    and     x9, x9, #0xffff         // the HVC immediate
    cbnz    x9, finished
    eret
    .rept   7                       // the other lower-EL slots
    .balign 0x80
    b       unexpected
    .endr

finished:
    semihost_exit_ok
unexpected:
    adr     x1, fail_block
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000

    .balign 8
fail_block:
    .quad   ADP_Stopped_ApplicationExit, 1
    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
iterations:
    .quad   100000
