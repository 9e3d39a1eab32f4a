// Compute loop at EL2: four ALU instructions per iteration and no memory traffic, so the
// figure is the emulator's raw instruction rate.
.include "bench.inc"

_start:
    ldr     x0, iterations
    mov     x1, #0
    mov     x2, #0
compute_loop:
    add     x1, x1, #3
    eor     x2, x2, x1
    subs    x0, x0, #1
    b.ne    compute_loop
    semihost_exit_ok

    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
iterations:
    .quad   100000
