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
    bench_data
