// SGI round trips between two cores at EL2 (run with -smp 2 / --smp 2): core 0 sends SGI 1 to
// core 1 and waits in WFI; core 1's handler answers with SGI 2 to core 0, whose handler counts
// the round trip. `iterations` round trips, then core 0 exits. Core 1 waits in WFI between
// interrupts, so the figure is the latency of waking a waiting core, both ways.
.include "bench.inc"
.include "gic.inc"

.equ PSCI_CPU_ON_64,        0xc4000003
.equ STACK_TOP,             0x40300000
.equ SGI_ENABLES,           ((1 << 1) | (1 << 2))   // SGIs 1 and 2

_start:
    mov     x0, #0
    bl      gic_core_setup
    ldr     x1, =GICD_BASE
    mov     w0, #1
    str     w0, [x1, #GICD_CTLR]
    ldr     x0, =PSCI_CPU_ON_64
    mov     x1, #1
    adr     x2, secondary
    mov     x3, #1
    smc     #0
    adr     x20, ready
wait_ready:
    ldar    w0, [x20]
    cbz     w0, wait_ready
    ldr     x19, iterations
    adr     x20, pongs
    mov     x21, #0
round_trip:
    ldr     x0, =((1 << (16 + 1)) | 1)      // SGI 1 to core 1
    ldr     x1, =GICD_BASE
    str     w0, [x1, #GICD_SGIR]
    add     x21, x21, #1
    msr     DAIFSet, #2
wait_pong:
    ldar    x0, [x20]
    cmp     x0, x21
    b.hs    got_pong
    wfi
    msr     DAIFClr, #2
    isb
    msr     DAIFSet, #2
    b       wait_pong
got_pong:
    msr     DAIFClr, #2
    cmp     x21, x19
    b.ne    round_trip
    semihost_exit_ok

secondary:
    bl      gic_core_setup
    adr     x0, ready
    mov     w1, #1
    stlr    w1, [x0]
idle:
    wfi
    b       idle

// SGI 1 (on core 1): answer with SGI 2 to core 0. SGI 2 (on core 0): count a round trip.
irq_handler:
    stp     x0, x1, [sp, #-32]!
    stp     x2, x3, [sp, #16]
    ldr     x0, =GICC_BASE
    ldr     w1, [x0, #GICC_IAR]
    and     w2, w1, #0x3ff
    cmp     w2, #1
    b.ne    irq_pong
    ldr     x2, =((1 << 16) | 2)            // SGI 2 to core 0
    ldr     x3, =GICD_BASE
    str     w2, [x3, #GICD_SGIR]
    b       irq_eoi
irq_pong:
    adr     x2, pongs
    ldr     x3, [x2]
    add     x3, x3, #1
    stlr    x3, [x2]
irq_eoi:
    str     w1, [x0, #GICC_EOIR]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp], #32
    eret

.include "../smp/smp_gic.inc"

    .balign 64
pongs:
    .quad   0
    .balign 64
ready:
    .word   0
    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
iterations:
    .quad   100000
