// Compute loop on four cores at EL2 (run with -smp 4 / --smp 4): core 0 starts cores 1-3 with
// PSCI CPU_ON, every core runs the same four-instruction ALU loop `iterations` times, the
// secondaries turn themselves off, and core 0 exits once all four are done. The figure is the
// aggregate instruction rate of four busy cores.
.include "bench.inc"

.equ PSCI_CPU_ON_64,        0xc4000003
.equ PSCI_AFFINITY_INFO_64, 0xc4000004
.equ CORES,                 4

_start:
    adr     x0, secondary
    mov     x1, #CORES
    bl      start_cores
    bl      compute
    adr     x0, done
wait_all:
    ldar    w1, [x0]
    cmp     w1, #CORES
    b.ne    wait_all
    semihost_exit_ok

secondary:
    bl      compute
    ldr     x0, =PSCI_CPU_OFF
    smc     #0
    b       .

// The loop, then one more core done. Clobbers x0-x3.
compute:
    ldr     x0, iterations
    mov     x1, #0
    mov     x2, #0
compute_loop:
    add     x1, x1, #3
    eor     x2, x2, x1
    subs    x0, x0, #1
    b.ne    compute_loop
    adr     x0, done
add_done:
    ldaxr   w1, [x0]
    add     w1, w1, #1
    stlxr   w3, w1, [x0]
    cbnz    w3, add_done
    ret

.include "../smp/smp_lib.inc"

    .balign 64
done:
    .word   0
    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
iterations:
    .quad   100000
