// Counter polling at EL2: reads CNTVCT_EL0 in a loop, as U-Boot's autoboot countdown and
// Linux's delay loops do. Three instructions per iteration, one of them the counter read.
.include "bench.inc"

_start:
    ldr     x0, iterations
counter_loop:
    mrs     x1, cntvct_el0
    subs    x0, x0, #1
    b.ne    counter_loop
    semihost_exit_ok

    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
iterations:
    .quad   100000
