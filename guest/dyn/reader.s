// reader: the I/O tenant of manifests/console_input.toml (console_input = true): what is typed at
// the console reaches its UART, with its INTID 33 (firmware/include/hyp_route.inc). It waits in WFI
// for the interrupt and drains UARTDR until UARTFR.RXFE; each line is printed back; "quit" ends it.

.include "board.inc"
.include "smccc.inc"
.include "gic.inc"

.equ PRIORITY,          0x80
.equ LINE_MAX,          64

.include "../include/tenant.inc"
    TENANT_IRQ_ROUTINES

main:
    EL1_IRQ_SETUP INTID_UART0, PRIORITY
    adr     x0, str_ready
    bl      puts
    msr     daifset, #2
wait:
    bl      read_bytes                      // what came, with IRQs masked
    cbnz    x0, line_done
    wfi                                     // a pending INTID 33 ends it, masked or not
    msr     daifclr, #2                     // taken here: its handler only acknowledges it
    isb
    msr     daifset, #2
    b       wait
line_done:
    adr     x0, str_line
    bl      puts
    ldr     x0, =line
    bl      puts
    bl      newline
    ldr     x9, =line                       // "quit"?
    ldr     w10, [x9]
    ldr     w11, =0x74697571                // "quit", little-endian
    cmp     w10, w11
    b.ne    wait
    ldrb    w10, [x9, #4]
    cbnz    w10, wait
    adr     x0, str_bye
    bl      puts
    ldr     x9, =bytes_read
    ldr     x0, [x9]
    bl      put_dec
    adr     x0, str_bytes
    bl      puts
    b       system_off

// read_bytes: the UART's bytes into the line, until UARTFR.RXFE or a '\n'. x0 = 1 when a line
// is complete (NUL-terminated in line; the next call starts a new one), 0 when the UART is empty.
read_bytes:
    ldr     x9, =UART0_BASE
    ldr     x11, =line_len
    ldr     x13, =line
read_bytes_next:
    ldr     w10, [x9, #UARTFR]
    tbnz    w10, #4, read_bytes_empty       // UARTFR_RXFE
    ldr     w10, [x9, #UARTDR]
    and     w10, w10, #0xff
    ldr     x12, =bytes_read
    ldr     x14, [x12]
    add     x14, x14, #1
    str     x14, [x12]
    ldr     x12, [x11]
    cmp     w10, #'\n'
    b.eq    read_bytes_line
    cmp     x12, #LINE_MAX - 1
    b.hs    read_bytes_next                 // too long: the rest of it is dropped
    strb    w10, [x13, x12]
    add     x12, x12, #1
    str     x12, [x11]
    b       read_bytes_next
read_bytes_line:
    strb    wzr, [x13, x12]
    str     xzr, [x11]
    mov     x0, #1
    ret
read_bytes_empty:
    mov     x0, #0
    ret

// irq_dispatch: INTID 33 says bytes came; the main loop reads them.
irq_dispatch:
    ret

    EL1_IRQ_ENTRY irq_entry, irq_dispatch

str_ready:          .asciz "ready for the console's input\n"
str_line:           .asciz "line: "
str_bye:            .asciz "bye after "
str_bytes:          .asciz " bytes\n"
    .balign 4

    EL1_VECTORS irq_entry

.include "../include/tenant_bss.inc"
line_len:           .quad 0
bytes_read:         .quad 0
line:               .space LINE_MAX
