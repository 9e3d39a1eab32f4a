// attacker_toe: a tenant that breaks the TOE's policy for it. Built twice (images.toml):
// ATTACK_CONNECT 0 listens on port 7002 (it was given 7001); 1 connects to 10.0.0.1:80 (it may
// reach only what its manifest names). The TOE refuses the command and reports it to the
// management page, whose interrupt the hypervisor takes: it contains the tenant.

.include "board.inc"
.include "smccc.inc"
.include "toe.inc"

.ifndef ATTACK_CONNECT
.equ ATTACK_CONNECT,    0
.endif
.equ NOT_MY_PORT,       7002
.equ NOT_MY_ADDRESS,    0x0a000001          // 10.0.0.1
.equ ANY_PORT,          80

.include "include/tenant.inc"             // _start: the stack, then main

main:
    ldr     x20, =TENANT_TOE_IPA
.if ATTACK_CONNECT
    adr     x0, str_connecting
    bl      puts
    ldr     w9, =NOT_MY_ADDRESS
    str     w9, [x20, #TOE_ARG0]
    mov     w9, #ANY_PORT
    str     w9, [x20, #TOE_ARG1]
    mov     w9, #TOE_CMD_CONNECT
.else
    adr     x0, str_listening
    bl      puts
    mov     w9, #NOT_MY_PORT
    str     w9, [x20, #TOE_ARG0]
    mov     w9, #TOE_CMD_LISTEN
.endif
    str     w9, [x20, #TOE_CMD]
    // The hypervisor takes the TOE's report as an interrupt and stops this tenant.
spin:
    b       spin

str_listening:          .asciz "listening on TOE port 7002, which is not mine\n"
str_connecting:         .asciz "connecting to 10.0.0.1:80, which I may not reach\n"
    .balign 4

.include "include/tenant_bss.inc"
