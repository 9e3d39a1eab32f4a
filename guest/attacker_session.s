// attacker_session: a tenant with two TOE sessions reads the status of a third page at
// TENANT_TOE_IPA, a session the hypervisor gave another tenant. Its stage 2 maps only its own
// session pages: the read faults to the hypervisor, which contains it.

.include "board.inc"
.include "smccc.inc"
.include "toe.inc"

.include "include/tenant.inc"             // _start: the stack, then main

main:
    ldr     w0, =HYP_TOE_INFO
    hvc     #0
    mov     x19, x0                         // its sessions: the pages it may touch
    adr     x0, str_reading
    bl      puts
    ldr     x9, =TENANT_TOE_IPA
    add     x9, x9, x19, lsl #12            // the page right after its own
    ldr     w0, [x9, #TOE_STATE]            // contained here
    adr     x0, str_not_contained
    bl      puts
    b       system_off

str_reading:            .asciz "reading the TOE session page after my own\n"
str_not_contained:      .asciz "NOT CONTAINED\n"
    .balign 4

.include "include/tenant_bss.inc"
