// worker: a secondary of manifests/primary.toml (alpha and beta run this image). It runs only when
// the primary runs it (FFA_RUN): each run it does one step and gives the core back with FFA_YIELD;
// after STEPS it serves messages (FF-A, guest/include/ffa_msg.inc), blocking in FFA_MSG_WAIT
// between them, which the primary sees as "blocked". "ping" gets "pong from vm N" back to its
// sender; "pass it on" sends "passed on by vm N" to vm 3.

.include "board.inc"
.include "smccc.inc"

.equ STEPS,             5

.equ PASS_TO,           3

.include "../include/tenant.inc"
.include "../include/ffa_msg.inc"
    FFA_MSG_ROUTINES

main:
    bl      ffa_map_buffers
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
    ldr     w9, =FFA_MSG_SEND2
    cmp     w0, w9
    b.eq    message
    adr     x0, str_woken
    bl      puts
    b       wait
message:
    bl      ffa_print_rx
    mov     x21, x2                         // the sender
    ldrb    w22, [x0, #1]                   // "pIng" or "pAss"
    bl      ffa_rx_release
    cmp     w22, #'i'
    b.eq    reply_pong
    cmp     w22, #'a'
    b.ne    wait
    mov     x0, x19                         // "passed on by vm N" to PASS_TO
    bl      by_vm
    mov     x0, #PASS_TO
    adr     x1, reply
    bl      ffa_send
    b       wait
reply_pong:
    mov     x0, x19
    bl      by_vm_pong
    mov     x0, x21
    adr     x1, reply
    bl      ffa_send
    b       wait

// by_vm: x0 = our vm_id. reply = "passed on by vm N", x2 = its bytes.
by_vm:
    adr     x1, str_passed
    b       make_reply
// by_vm_pong: reply = "pong from vm N".
by_vm_pong:
    adr     x1, str_pong
make_reply:
    adr     x9, reply
    mov     x2, #0
make_reply_copy:
    ldrb    w10, [x1, x2]
    cbz     w10, make_reply_id
    strb    w10, [x9, x2]
    add     x2, x2, #1
    b       make_reply_copy
make_reply_id:
    add     w0, w0, #'0'                    // vm_ids here are one digit
    strb    w0, [x9, x2]
    add     x2, x2, #1
    ret
odd:
    adr     x0, str_odd
    bl      puts
    b       system_off

str_step:           .asciz "step "
str_of_vm:          .asciz " of vm "
str_waiting:        .asciz "waiting for a message\n"
str_woken:          .asciz "woken without a message\n"
str_odd:            .asciz "FFA_YIELD did not return FFA_SUCCESS\n"
str_passed:         .asciz "passed on by vm "
str_pong:           .asciz "pong from vm "
    .balign 4

.include "../include/tenant_bss.inc"
reply:              .space 32
