// attacker_pair: a two-vCPU tenant whose vCPU 0 breaks the partition while vCPU 1 spins on
// another core, never trapping. Containment must reach vCPU 1 too: the hypervisor kicks its core,
// which takes it off for good. If it did not, vCPU 1 would spin forever and the system never end.

.include "board.inc"
.include "smccc.inc"

.equ VCPU1,             1
.equ OUTSIDE,           0x42000000      // an IPA past our RAM window

.include "include/tenant.inc"             // _start: the stack, then main

main:
    ldr     w0, =PSCI_CPU_ON_64
    mov     x1, #VCPU1
    adr     x2, spinner
    mov     x3, #0
    hvc     #0
main_wait_up:
    ldr     x9, =spinning
    ldar    x10, [x9]
    cbz     x10, main_wait_up
    adr     x0, str_breaking
    bl      puts
    ldr     x9, =OUTSIDE
    ldr     x0, [x9]                        // contained here, and vCPU 1 with us
    adr     x0, str_not_contained
    bl      puts
    b       system_off

// spinner: vCPU 1. Says it is up, then counts forever without a single trap.
spinner:
    ldr     x9, =stack1_top
    mov     sp, x9
    adr     x0, str_spinning
    bl      puts
    ldr     x9, =spinning
    mov     x10, #1
    stlr    x10, [x9]
spinner_loop:
    add     x10, x10, #1
    b       spinner_loop

str_spinning:           .asciz "vCPU 1: spinning on my own core\n"
str_breaking:           .asciz "vCPU 0: reading IPA 0x42000000, outside my RAM\n"
str_not_contained:      .asciz "NOT CONTAINED\n"
    .balign 4

.include "include/tenant_bss.inc"         // literals, __bss_start, vCPU 0's stack
stack1:                 .space 0x1000
stack1_top:
spinning:               .quad 0
