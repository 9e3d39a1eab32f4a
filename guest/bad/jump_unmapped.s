// jump_unmapped: deliberately broken. Prints a line, then branches to PA 0xc0000000,
// which is a hole in the virt map (RAM is 0x40000000-0x7fffffff with 1 GiB, and
// nothing is decoded above it below 4 GiB). The fetch takes an Instruction Abort
// (external abort) at EL2 to the reset value of VBAR_EL2, which this image never
// sets: on QEMU that is 0, flash full of zeros, so it then loops on UDF #0. An
// emulator must stop with a diagnostic naming the unmapped address.

    .include "board.inc"

.equ UNMAPPED_PA,           0xc0000000

_start:
    adr     x1, msg_jump
    bl      bad_puts
    ldr     x0, =UNMAPPED_PA
    br      x0

// x1 = NUL-terminated string. Leaf: clobbers x0-x3.
bad_puts:
    ldr     x2, =UART0_BASE
bad_puts_next:
    ldrb    w0, [x1], #1
    cbz     w0, bad_puts_done
bad_puts_wait:
    ldr     w3, [x2, #UARTFR]
    tst     w3, #UARTFR_TXFF
    b.ne    bad_puts_wait
    str     w0, [x2, #UARTDR]
    b       bad_puts_next
bad_puts_done:
    ret

msg_jump:
    .asciz  "jump_unmapped: branch to 0xc0000000\n"
