// loop_vbar: deliberately broken. VBAR_EL2 is set to 0, where no exception handler
// exists, and then an UNDEFINED instruction is executed at EL2. Exception entry
// goes to VBAR_EL2 + 0x200 (current EL, SP_ELx, synchronous): on QEMU virt that is
// flash full of zeros, i.e. UDF #0 again, so QEMU loops on exceptions forever; where
// nothing is mapped at 0, each fetch takes an instruction abort to the same vector,
// also forever. An emulator must detect the loop and stop with a diagnostic.

    .include "board.inc"

_start:
    adr     x1, msg_loop
    bl      bad_puts
    msr     VBAR_EL2, xzr
    isb
    // udf #0, as data: Keystone 0.9.2 rejects `udf` and silently drops `.inst`.
    .word   0x00000000
loop_vbar_hang:
    b       loop_vbar_hang

    .include "bad_puts.inc"

msg_loop:
    .asciz  "loop_vbar: VBAR_EL2=0, udf #0 at EL2\n"
