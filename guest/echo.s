// echo: a console that answers. A stand-alone image at EL2 (0x40200000, as the probes; also
// `qemu-system-aarch64 -kernel`) that programs the PL011 the way U-Boot's pl01x driver does
// (UART off, baud divisors, UARTLCR_H = 8N1 with FIFOs on, which flushes the receive FIFO,
// UART on), prints "echo: ready", then polls for received characters and prints each line
// back as "echo: <line>". EOT (0x04, Ctrl-D) ends it: "echo: bye" and semihosting SYS_EXIT 0.
// What it shows: input queued before boot survives the flush and reaches the guest, every
// byte, in order, however long (the receive FIFO holds 32).

    .include "board.inc"
    .include "smccc.inc"

.equ UARTIBRD,          0x024
.equ UARTFBRD,          0x028
.equ UARTLCR_H,         0x02c
.equ UARTCR,            0x030
.equ LCR_H_8N1_FEN,     0x70            // WLEN=0b11 (8 bits), FEN
.equ CR_UARTEN_TXE_RXE, 0x301
.equ EOT,               0x04

_start:
    ldr     x19, =UART0_BASE
    str     wzr, [x19, #UARTCR]         // disable everything
    mov     w0, #13                     // 24 MHz / (16 * 115200) = 13.02: IBRD 13, FBRD 1
    str     w0, [x19, #UARTIBRD]
    mov     w0, #1
    str     w0, [x19, #UARTFBRD]
    mov     w0, #LCR_H_8N1_FEN
    str     w0, [x19, #UARTLCR_H]
    ldr     w0, =CR_UARTEN_TXE_RXE
    str     w0, [x19, #UARTCR]
    adr     x1, msg_ready
    bl      puts
    mov     x20, #1                     // at the start of a line: print the prefix first

next_char:
    ldr     w0, [x19, #UARTFR]
    tst     w0, #UARTFR_RXFE
    b.ne    next_char
    ldr     w21, [x19, #UARTDR]
    and     w21, w21, #0xff
    cmp     w21, #EOT
    b.eq    done
    cbz     x20, echo_char
    adr     x1, msg_prefix
    bl      puts
echo_char:
    mov     w0, w21
    bl      putc
    cmp     w21, #10
    cset    x20, eq
    b       next_char

done:
    cbnz    x20, say_bye
    mov     w0, #10                     // end an unfinished line first
    bl      putc
say_bye:
    adr     x1, msg_bye
    bl      puts
    adr     x1, exit_block
    ldr     x0, =ADP_Stopped_ApplicationExit
    stp     x0, xzr, [x1]
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000
exit_hang:
    b       exit_hang

// putc: w0 = character. Clobbers w3.
putc:
    ldr     w3, [x19, #UARTFR]
    tst     w3, #UARTFR_TXFF
    b.ne    putc
    str     w0, [x19, #UARTDR]
    ret

// puts: x1 = NUL-terminated string. Clobbers x0, x1, w3 and x22 (where it keeps x30).
puts:
    mov     x22, x30
puts_next:
    ldrb    w0, [x1], #1
    cbz     w0, puts_done
    bl      putc
    b       puts_next
puts_done:
    ret     x22

msg_ready:
    .asciz  "echo: ready\n"
msg_prefix:
    .asciz  "echo: "
msg_bye:
    .asciz  "echo: bye\n"
    .balign 16
exit_block:
    .quad   0, 0
