// mmio: reads of the console PL011's UARTFR at 0x09000018, in a loop. As a tenant the address is
// an IPA that its stage 2 leaves unmapped: each read is a data abort that the hypervisor emulates
// (it answers "both FIFOs empty", 0x90) and returns from. Bare, the read goes straight to the
// emulator's PL011 model.
.include "iso.inc"

main:
    ldr     x21, =UART0_BASE
mmio_loop:
    ldr     w0, [x21, #UARTFR]
    subs    x19, x19, #1
    b.ne    mmio_loop
    b       iso_end                     // x0: the last UARTFR read

.include "iso_end.inc"
