// toe_irq: a tenant that waits for its TOE session's interrupt instead of polling. The SPI of its
// session 0 (INTID TOE_SPI_FIRST + its first session) is its own: it enables it in its GIC view,
// unmasks the listener's state interrupt, listens on port 7000 and waits in WFI. A connection
// accepted by the TOE raises the line; the hypervisor injects it; the handler clears the TOE's
// status (the line is level-sensitive) before its EOI.

.include "board.inc"
.include "smccc.inc"
.include "gic.inc"
.include "toe.inc"

.equ PORT,              7000
.equ PRIORITY,          0x80

.include "include/tenant.inc"             // _start: the stack, then main
    TENANT_IRQ_ROUTINES

main:
    ldr     w0, =HYP_TOE_INFO
    hvc     #0
    mov     x19, x1                         // the first session's index
    EL1_IRQ_SETUP
    add     w0, w19, #TOE_SPI_FIRST
    mov     w1, #PRIORITY
    bl      gic_enable
    ldr     x20, =TENANT_TOE_IPA
    mov     w9, #TOE_IRQ_STATE
    str     w9, [x20, #TOE_IRQ_MASK]
    TOE_LISTEN x20, PORT
    adr     x0, str_listening
    bl      puts
    add     x0, x19, #TOE_SPI_FIRST
    bl      put_dec
    bl      newline
    msr     daifclr, #2
wait:
    ldr     x9, =taken
    ldr     x10, [x9]
    cbnz    x10, got
    wfi
    b       wait
got:
    msr     daifset, #2
    adr     x0, str_took
    bl      puts
    ldr     x9, =taken
    ldr     x0, [x9]
    bl      put_dec
    adr     x0, str_session
    bl      puts
    ldr     w0, [x20, #TOE_ACCEPTED]        // the physical session + 1
    sub     w0, w0, #1
    sub     w0, w0, w19                     // as the tenant counts its sessions
    bl      put_dec
    adr     x0, str_accepted
    bl      puts
    b       system_off

// irq_dispatch: w0 = INTID. Records it and clears the listener's status, so the level goes down.
irq_dispatch:
    ldr     x9, =taken
    str     x0, [x9]
    ldr     x9, =TENANT_TOE_IPA
    mov     w10, #(TOE_IRQ_RX | TOE_IRQ_TX | TOE_IRQ_STATE)
    str     w10, [x9, #TOE_IRQ_STATUS]
    ret

    EL1_IRQ_ENTRY irq_entry, irq_dispatch

str_listening:          .asciz "listening on TOE port 7000, waiting for INTID "
str_took:               .asciz "took INTID "
str_session:            .asciz ": session "
str_accepted:           .asciz " accepted a connection\n"
    .balign 4

    EL1_VECTORS irq_entry

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
taken:                  .quad 0
