// rogue: a secondary of manifests/primary.toml that never gives the core back. It tries to run
// another secondary itself, to map FF-A buffers outside its RAM and to send a message as another
// VM (each refused), spins for about 15 ms of virtual time (the primary's timer cuts its first run
// short), then reads another tenant's RAM: contained, and FFA_RUN returns FFA_ERROR(ABORTED).

.include "board.inc"
.include "smccc.inc"

.equ SPINS,             5000000
.equ OTHER_RAM,         TENANT_PA_BASE      // tenant 0's RAM, a PA no stage 2 of ours maps

.include "../include/tenant.inc"
.include "../include/ffa_msg.inc"
    FFA_MSG_ROUTINES

main:
    ldr     w0, =FFA_RUN                    // run alpha itself: only the primary may
    mov     x1, #(2 << 16)
    hvc     #0
    ldr     w9, =FFA_ERROR
    cmp     w0, w9
    b.ne    main_ran
    adr     x0, str_refused
    bl      puts
    mov     x0, x2
    neg     x0, x0
    bl      put_dec
    bl      newline
main_ran:
    ldr     w0, =FFA_RXTX_MAP               // a TX buffer past its 2 MiB
    ldr     x1, =0x40400000
    ldr     x2, =FFA_RX_IPA
    mov     x3, #1
    hvc     #0
    adr     x0, str_map_outside
    bl      say_error
    bl      ffa_map_buffers
    ldr     x9, =FFA_TX_IPA                 // a message from vm 2 (alpha) to beta
    str     xzr, [x9]
    mov     w10, #FFA_PAYLOAD
    str     w10, [x9, #FFA_MSG_OFFSET]
    mov     w10, #3
    strh    w10, [x9, #FFA_MSG_RECEIVER]
    mov     w10, #2
    strh    w10, [x9, #FFA_MSG_SENDER]
    mov     w10, #4
    str     w10, [x9, #FFA_MSG_SIZE]
    ldr     w0, =FFA_MSG_SEND2
    hvc     #0
    adr     x0, str_forged
    bl      say_error
    adr     x0, str_spinning
    bl      puts
    ldr     x9, =SPINS
spin:
    subs    x9, x9, #1
    b.ne    spin
    adr     x0, str_reading
    bl      puts
    ldr     x9, =OTHER_RAM
read_other:
    ldr     x0, [x9]
    adr     x0, str_read
    bl      puts
    b       system_off

// say_error: x0 = what was tried, x2 = the FF-A error: "what: error -N".
say_error:
    stp     x29, x30, [sp, #-32]!
    str     x19, [sp, #16]
    mov     x19, x2
    bl      puts
    neg     x0, x19
    bl      put_dec
    bl      newline
    ldr     x19, [sp, #16]
    ldp     x29, x30, [sp], #32
    ret

str_refused:        .asciz "FFA_RUN of vm 2: error -"
str_map_outside:    .asciz "FFA_RXTX_MAP of a buffer outside its RAM: error -"
str_forged:         .asciz "FFA_MSG_SEND2 as vm 2: error -"
str_spinning:       .asciz "spinning, never yielding\n"
str_reading:        .asciz "reading another tenant's RAM\n"
str_read:           .asciz "read it\n"
    .balign 4

.include "../include/tenant_bss.inc"
