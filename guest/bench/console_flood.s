// A tenant that writes to its console UART, which the hypervisor emulates: every byte is a
// stage-2 data abort handled natively at EL2, then one real PL011 write per line.
.include "bench.inc"

_start:
    ldr     x3, =TENANT_IPA_BASE + 0x100000
    mov     sp, x3
    ldr     x0, iterations
    ldr     x2, =UART0_BASE
    mov     x4, #0
flood_loop:
    mov     w1, #0x2e               // '.'
    add     x4, x4, #1
    cmp     x4, #63
    b.ne    flood_put
    mov     w1, #0x0a               // '\n' every 64th byte, so the console sees lines
    mov     x4, #0
flood_put:
    str     w1, [x2, #UARTDR]
    subs    x0, x0, #1
    b.ne    flood_loop
    mov     w1, #0x0a
    str     w1, [x2, #UARTDR]
    ldr     w0, =PSCI_SYSTEM_OFF
    hvc     #0
flood_hang:
    b       flood_hang

    .ltorg
    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
iterations:
    .quad   100000
