// attacker_read: tries to read another tenant's RAM. Tenant 0's RAM is at PA 0x41000000;
// reading IPA 0x41000000 would reach it under an identity mapping, but this tenant's stage 2
// maps only its own 2 MiB at IPA 0x40000000, so the load must fault to the hypervisor and
// the tenant be contained. The line after the load must never print.

.include "board.inc"
.include "smccc.inc"

.equ VICTIM_IPA,        TENANT_PA_BASE      // where tenant 0's RAM really is

.include "include/tenant.inc"             // _start: the stack, then main

main:
    adr     x0, str_about
    bl      puts
    ldr     x1, =VICTIM_IPA
    ldr     x19, [x1]                       // stage-2 translation fault: contained here
    adr     x0, str_leaked
    bl      puts
    mov     x0, x19
    bl      put_hex
    bl      newline
    b       system_off

str_about:              .asciz "reading tenant 0's RAM at IPA 0x41000000\n"
str_leaked:             .asciz "BREACH: read tenant 0's RAM: "

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
