// Device register access: EL2 reads UARTFR in a loop. On our emulator every read is a call
// into the Python PL011 model; on QEMU it is C.
.include "bench.inc"

_start:
    ldr     x0, iterations
    ldr     x2, =UART0_BASE
mmio_loop:
    ldr     w1, [x2, #UARTFR]
    subs    x0, x0, #1
    b.ne    mmio_loop
    semihost_exit_ok

    .ltorg
    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
iterations:
    .quad   100000
