// irq_sgi: sends itself eight SGIs through GICD_SGIR with IRQs masked, more than the four list
// registers can hold, then unmasks. The hypervisor keeps the rest in its pending set and refills
// the list registers on the maintenance interrupt (underflow / no pending). SGI n has priority
// SGI_PRIORITY + 8 * n (distinct in the five bits a list register keeps), so they must be taken
// in INTID order whichever list registers they sit in; the handler records the order.

.include "board.inc"
.include "smccc.inc"
.include "gic.inc"

.equ SGI_COUNT,         8
.equ SGIR_TO_SELF,      (2 << 24)           // TargetListFilter 0b10: the requesting CPU
.equ SGI_PRIORITY,      0x80

.include "include/tenant.inc"             // _start: the stack, then main
    TENANT_IRQ_ROUTINES

main:
    EL1_IRQ_SETUP
    msr     daifset, #2
    ldr     x19, =GICD_BASE
    mov     w20, #0
sgi_priority:
    mov     w1, #SGI_PRIORITY
    add     w1, w1, w20, lsl #3
    add     x9, x19, #GICD_IPRIORITYR
    strb    w1, [x9, x20]
    add     w20, w20, #1
    cmp     w20, #SGI_COUNT
    b.lo    sgi_priority
    mov     w20, #0
sgi_send:
    ldr     x9, =SGIR_TO_SELF
    orr     w9, w9, w20
    str     w9, [x19, #GICD_SGIR]
    add     w20, w20, #1
    cmp     w20, #SGI_COUNT
    b.lo    sgi_send
    adr     x0, str_sent
    bl      puts
sgi_wait:
    msr     daifset, #2
    ldr     x9, =taken
    ldr     x9, [x9]
    cmp     x9, #SGI_COUNT
    b.hs    sgi_all
    wfi
    msr     daifclr, #2
    b       sgi_wait
sgi_all:
    msr     daifclr, #2
    adr     x0, str_order
    bl      puts
    mov     x20, #0
sgi_print:
    mov     x0, #' '
    bl      putc
    ldr     x9, =order
    ldrb    w0, [x9, x20]
    bl      put_dec
    add     x20, x20, #1
    cmp     x20, #SGI_COUNT
    b.lo    sgi_print
    bl      newline
    adr     x0, str_pending
    bl      puts
    ldr     w0, [x19, #GICD_ISPENDR]
    bl      put_hex
    adr     x0, str_active
    bl      puts
    ldr     w0, [x19, #GICD_ISACTIVER]
    bl      put_hex
    bl      newline
    b       system_off

// irq_dispatch: w0 = INTID; the n-th one taken goes to order[n].
irq_dispatch:
    ldr     x9, =taken
    ldr     x10, [x9]
    ldr     x11, =order
    cmp     x10, #SGI_COUNT
    b.hs    irq_dispatch_done
    strb    w0, [x11, x10]
irq_dispatch_done:
    add     x10, x10, #1
    str     x10, [x9]
    ret

    EL1_IRQ_ENTRY irq_entry, irq_dispatch

str_sent:               .asciz "sent myself SGIs 0-7 through GICD_SGIR with IRQs masked\n"
str_order:              .asciz "taken in order:"
str_pending:            .asciz "then GICD_ISPENDR0 "
str_active:             .asciz ", GICD_ISACTIVER0 "
    .balign 4

    EL1_VECTORS irq_entry

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
taken:                  .quad 0
order:                  .space 16
