// attacker_hog: tries to keep the core for good in a cooperative system (no time slice in the
// manifest) with its interrupts on. First it reaches for the hypervisor's watchdog through what a
// tenant can program: its GICD view, where it disables INTID 26 (the EL2 timer's PPI) and gives it
// the lowest priority (an interrupt it does not own: both writes are ignored and reported), and
// its own virtual timer, which it then keeps ticking every TICK_MS. Then it unmasks IRQs and
// computes forever: no HYP_YIELD, no WFE, no WFI. Its timer interrupts trap to EL2 and come back
// to it, which gives the core to no one; the watchdog preempts it all the same, then stops it.
// The line after the loop must never print.

.include "board.inc"
.include "smccc.inc"
.include "gic.inc"

.equ TICK_MS,           1
.equ TIMER_PRIORITY,    0x80
.equ PRIORITY_LOWEST,   0xff

.include "include/tenant.inc"             // _start: the stack, then main
    TENANT_IRQ_ROUTINES

main:
    EL1_IRQ_SETUP INTID_VIRT_TIMER, TIMER_PRIORITY
    adr     x0, str_watchdog
    bl      puts
    ldr     x19, =GICD_BASE
    mov     w0, #(1 << INTID_HYP_TIMER)
    str     w0, [x19, #GICD_ICENABLER]
    mov     w0, #PRIORITY_LOWEST
    strb    w0, [x19, #GICD_IPRIORITYR + INTID_HYP_TIMER]
    mov     x0, #TICK_MS
    bl      ms_to_ticks
    mov     x21, x0                         // the period, for the handler
    bl      counter_now
    add     x0, x0, x21
    bl      timer_arm_at
    adr     x0, str_spinning
    bl      puts
    msr     daifclr, #2
spin:
    add     x20, x20, #1
    b       spin
    adr     x0, str_breach
    bl      puts
    b       system_off

// irq_dispatch: w0 = INTID. Re-arms the virtual timer one period ahead (its level goes down
// before the EOI) and says so on the first tick, to show that its interrupts are on.
irq_dispatch:
    stp     x29, x30, [sp, #-16]!
    cmp     w0, #INTID_VIRT_TIMER
    b.ne    irq_dispatch_done
    ldr     x9, =tick_count
    ldr     x10, [x9]
    add     x10, x10, #1
    str     x10, [x9]
    cmp     x10, #1
    b.ne    irq_dispatch_rearm
    adr     x0, str_tick
    bl      puts
irq_dispatch_rearm:
    bl      counter_now
    add     x0, x0, x21
    bl      timer_arm_at
irq_dispatch_done:
    ldp     x29, x30, [sp], #16
    ret

    EL1_IRQ_ENTRY irq_entry, irq_dispatch

str_watchdog:           .asciz "disabling INTID 26 and lowering its priority in my GICD view\n"
str_spinning:           .asciz "spinning forever with IRQs on and my timer ticking every 1 ms\n"
str_tick:               .asciz "tick 1: my own timer still reaches me\n"
str_breach:             .asciz "BREACH: the spin ended\n"
    .balign 4

    EL1_VECTORS irq_entry

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
tick_count:             .quad 0
