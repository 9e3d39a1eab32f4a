// irq_spin: computes for SPIN_MS of virtual time without ever yielding, trapping or waiting.
// Only the hypervisor's time slice (CNTHP) lets the other tenants run meanwhile.

.include "board.inc"
.include "smccc.inc"

.equ SPIN_MS,           50

.include "include/tenant.inc"             // _start: the stack, then main

main:
    adr     x0, str_spinning
    bl      puts
    mrs     x9, cntfrq_el0
    mov     x10, #1000
    udiv    x9, x9, x10
    mov     x10, #SPIN_MS
    mul     x19, x9, x10
    isb
    mrs     x0, cntvct_el0
    add     x19, x19, x0                    // until this virtual count
    mov     x20, #0                         // iterations, to be busy with something
spin:
    add     x20, x20, #1
    mrs     x0, cntvct_el0
    cmp     x0, x19
    b.lo    spin
    adr     x0, str_done
    bl      puts
    b       system_off

str_spinning:           .asciz "spinning for 50 ms without giving the core away\n"
str_done:               .asciz "done spinning: preempted, never yielded\n"

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
