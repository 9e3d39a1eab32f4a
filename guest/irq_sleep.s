// irq_sleep: arms its virtual timer once, SLEEP_MS ahead, and waits in WFI. While it waits the
// hypervisor passes it over (and keeps its timer off the core while others run), then wakes it
// when the deadline it saved has passed: the timer interrupt reaches it on its return.

.include "board.inc"
.include "smccc.inc"
.include "gic.inc"

.equ SLEEP_MS,          20
.equ TIMER_PRIORITY,    0x80

.include "include/tenant.inc"             // _start: the stack, then main
    TENANT_IRQ_ROUTINES

main:
    EL1_IRQ_SETUP INTID_VIRT_TIMER, TIMER_PRIORITY
    adr     x0, str_sleeping
    bl      puts
    mov     x0, #SLEEP_MS
    bl      ms_to_ticks
    mov     x19, x0
    bl      counter_now
    add     x19, x19, x0                    // the deadline
    mov     x0, x19
    bl      timer_arm_at
sleep_wait:
    msr     daifset, #2
    ldr     x9, =wakeups
    ldr     x9, [x9]
    cbnz    x9, sleep_woken
    wfi
    msr     daifclr, #2
    b       sleep_wait
sleep_woken:
    msr     daifclr, #2
    bl      counter_now
    cmp     x0, x19
    adr     x0, str_woken
    b.hs    sleep_report
    adr     x0, str_early
sleep_report:
    bl      puts
    b       system_off

irq_dispatch:
    cmp     w0, #INTID_VIRT_TIMER
    b.ne    irq_dispatch_done
    ldr     x9, =wakeups
    mov     x10, #1
    str     x10, [x9]
irq_dispatch_done:
    b       timer_stop

    EL1_IRQ_ENTRY irq_entry, irq_dispatch

str_sleeping:           .asciz "sleeping in WFI until my virtual timer fires in 20 ms\n"
str_woken:              .asciz "woken by my virtual timer (INTID 27), not before its deadline\n"
str_early:              .asciz "BUG: woken before my deadline\n"
    .balign 4

    EL1_VECTORS irq_entry

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
wakeups:                .quad 0
