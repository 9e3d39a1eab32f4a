// irq_tick: uses the virtual timer as a bare-metal driver for QEMU virt does. It enables PPI 27
// through its GICD view (trapped, emulated by the hypervisor) and its GICC view (the GICV frame),
// arms CNTV on absolute deadlines every TICK_MS, waits in WFI, takes each interrupt through its
// VBAR_EL1 IRQ slot, acknowledges and ends it with GICC_IAR / GICC_EOIR, and powers off after
// TICKS ticks. "tick N" is printed by the main loop, not the handler, so the lines come in an
// order fixed by the program, whenever the interrupts arrive.

.include "board.inc"
.include "smccc.inc"
.include "gic.inc"

.equ TICKS,             5
.equ TICK_MS,           1
.equ TIMER_PRIORITY,    0x80

.include "include/tenant.inc"             // _start: the stack, then main
    TENANT_IRQ_ROUTINES

main:
    EL1_IRQ_SETUP INTID_VIRT_TIMER, TIMER_PRIORITY
    adr     x0, str_armed
    bl      puts
    mov     x0, #TICK_MS
    bl      ms_to_ticks
    mov     x21, x0                         // period in counter ticks
    bl      counter_now
    mov     x22, x0                         // deadline k is start + k * period: no drift
    mov     x19, #1
tick_arm:
    madd    x0, x19, x21, x22
    bl      timer_arm_at
tick_wait:
    // Check and sleep with IRQs masked: an interrupt between the check and the WFI still
    // wakes it (WFI wakes on a pending interrupt whatever PSTATE.I), and is taken after.
    msr     daifset, #2
    ldr     x9, =tick_count
    ldr     x9, [x9]
    cmp     x9, x19
    b.hs    tick_print
    wfi
    msr     daifclr, #2
    b       tick_wait
tick_print:
    msr     daifclr, #2
    adr     x0, str_tick
    bl      puts
    mov     x0, x19
    bl      put_dec
    bl      newline
    add     x19, x19, #1
    cmp     x19, #TICKS
    b.ls    tick_arm
    ldr     x9, =other_count
    ldr     x0, [x9]
    cbz     x0, tick_done
    adr     x0, str_other
    bl      puts
tick_done:
    adr     x0, str_bye
    bl      puts
    b       system_off

// irq_dispatch: w0 = INTID. The timer is stopped so its level goes down before the EOI.
irq_dispatch:
    cmp     w0, #INTID_VIRT_TIMER
    b.ne    irq_dispatch_other
    ldr     x9, =tick_count
    b       irq_dispatch_count
irq_dispatch_other:
    ldr     x9, =other_count
irq_dispatch_count:
    ldr     x10, [x9]
    add     x10, x10, #1
    str     x10, [x9]
    b       timer_stop

    EL1_IRQ_ENTRY irq_entry, irq_dispatch

str_armed:              .asciz "virtual timer armed every 1 ms through my GICD and GICC views\n"
str_tick:               .asciz "tick "
str_other:              .asciz "BUG: an interrupt that is not my timer\n"
str_bye:                .asciz "powering off\n"
    .balign 4

    EL1_VECTORS irq_entry

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
tick_count:             .quad 0
other_count:            .quad 0
