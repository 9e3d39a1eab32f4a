// snoop: a tenant beside the I/O tenant of manifests/console_input.toml that tries to see the
// console's input: it enables INTID 33 in its GIC view (not its own: the write is ignored) and
// polls its UART for 20 ms of virtual time. It sees no byte and no interrupt.

.include "board.inc"
.include "smccc.inc"
.include "gic.inc"

.include "../include/tenant.inc"
    TENANT_IRQ_ROUTINES

main:
    EL1_IRQ_SETUP INTID_UART0, 0x80
    ldr     x9, =GICD_BASE                  // did the enable stick?
    ldr     w19, [x9, #(GICD_ISENABLER + 4)]
    ubfx    w19, w19, #(INTID_UART0 - 32), #1
    mov     x0, #20
    bl      ms_to_ticks
    mov     x20, x0
    bl      counter_now
    add     x20, x20, x0
    mov     x21, #0                         // bytes seen
poll:
    ldr     x9, =UART0_BASE
    ldr     w10, [x9, #UARTFR]
    tbnz    w10, #4, poll_nothing           // RXFE
    ldr     w10, [x9, #UARTDR]
    add     x21, x21, #1
poll_nothing:
    bl      yield
    bl      counter_now
    cmp     x0, x20
    b.lo    poll
    adr     x0, str_enabled
    bl      puts
    mov     x0, x19
    bl      put_dec
    adr     x0, str_seen
    bl      puts
    mov     x0, x21
    bl      put_dec
    adr     x0, str_bytes
    bl      puts
    b       system_off

str_enabled:        .asciz "INTID 33 enabled in my view: "
str_seen:           .asciz ", bytes seen in 20 ms: "
str_bytes:          .asciz "\n"
    .balign 4

    EL1_VECTORS el1_unexpected              // IRQs stay masked: none comes

.include "../include/tenant_bss.inc"
