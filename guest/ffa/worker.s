// worker: a secondary of manifests/primary.toml (alpha and beta run this image). It runs only when
// the primary runs it (FFA_RUN): each run it does one step and gives the core back with FFA_YIELD;
// after STEPS it blocks in FFA_MSG_WAIT, which the primary sees as "blocked".

.include "board.inc"
.include "smccc.inc"

.equ STEPS,             5

.include "../include/tenant.inc"

main:
    ldr     w0, =FFA_ID_GET
    hvc     #0
    mov     x19, x2                         // our vm_id
    mov     x20, #1
step:
    adr     x0, str_step
    bl      puts
    mov     x0, x20
    bl      put_dec
    adr     x0, str_of_vm
    bl      puts
    mov     x0, x19
    bl      put_dec
    bl      newline
    ldr     w0, =FFA_YIELD
    hvc     #0
    ldr     w9, =FFA_SUCCESS
    cmp     w0, w9
    b.ne    odd
    add     x20, x20, #1
    cmp     x20, #STEPS
    b.ls    step
    adr     x0, str_waiting
    bl      puts
wait:
    ldr     w0, =FFA_MSG_WAIT
    hvc     #0
    adr     x0, str_woken
    bl      puts
    b       wait
odd:
    adr     x0, str_odd
    bl      puts
    b       system_off

str_step:           .asciz "step "
str_of_vm:          .asciz " of vm "
str_waiting:        .asciz "waiting for a message\n"
str_woken:          .asciz "woken without a message\n"
str_odd:            .asciz "FFA_YIELD did not return FFA_SUCCESS\n"
    .balign 4

.include "../include/tenant_bss.inc"
