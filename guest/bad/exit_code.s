// exit_code: prints "bye" and ends with Arm semihosting SYS_EXIT, reason
// ADP_Stopped_ApplicationExit and exit code 7 (AArch64 form: x1 points at the
// {reason, subcode} pair). Checks that a guest's own exit code reaches the caller:
// QEMU -semihosting exits with status 7, and so must the emulator.

    .include "board.inc"
    .include "smccc.inc"

_start:
    adr     x1, msg_bye
    bl      bad_puts
    adr     x1, exit_block
    ldr     x0, =ADP_Stopped_ApplicationExit
    mov     x2, #7
    stp     x0, x2, [x1]
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000
exit_hang:
    b       exit_hang

    .include "bad_puts.inc"

msg_bye:
    .asciz  "bye\n"
    .balign 16
exit_block:
    .quad   0, 0
