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

    .include "bad_puts.inc"

msg_jump:
    .asciz  "jump_unmapped: branch to 0xc0000000\n"
