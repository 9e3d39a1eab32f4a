// toeuser: the two TOE tenants of manifests/toe_move.toml run this image; their TOE shares differ.
// Each listens on its manifest's port on its last session, then serves the hypervisor's messages:
//   - a session taken away (HYP_MSG_TOE_TAKEN): it says so, and that its share is one less; then
//     it reads the page the slot had, which is no longer mapped: contained;
//   - a session granted (HYP_MSG_TOE_GRANTED): it asks which session the slot holds
//     (HYP_TOE_SESSION), finds it closed, listens there on its own port, and enables its SPI.

.include "toe.inc"

.include "../include/dyn.inc"        // board, smccc, gic, tenant.inc and its IRQ routines
    DYN_ROUTINES

main:
    DYN_START
    ldr     w0, =HYP_TOE_INFO
    hvc     #0
    mov     x19, x0                         // sessions
    mov     x20, x1                         // the first one
    adr     x0, str_sessions
    bl      puts
    mov     x0, x19
    bl      put_dec
    bl      newline
    sub     x0, x19, #1                     // listen on the last slot
    mov     x1, #0
    bl      listen
next:
    bl      wait_message
    cmp     x0, #HYP_MSG_TOE_TAKEN
    b.eq    taken
    cmp     x0, #HYP_MSG_TOE_GRANTED
    b.eq    granted
    b       next

// taken: x1 = our slot that is gone, x2 = its session.
taken:
    mov     x21, x1
    adr     x0, str_taken
    bl      puts
    mov     x0, x21
    bl      put_dec
    ldr     w0, =HYP_TOE_INFO
    hvc     #0
    mov     x22, x0
    adr     x0, str_now
    bl      puts
    mov     x0, x22
    bl      put_dec
    bl      newline
    ldr     x9, =TENANT_TOE_IPA             // the slot's page: not ours any more
    add     x9, x9, x21, lsl #12
    ldr     w0, [x9, #TOE_STATE]            // contained here
    adr     x0, str_still
    bl      puts
    b       system_off

// granted: x1 = our new slot, x2 = its session.
granted:
    mov     x21, x1
    ldr     w0, =HYP_TOE_SESSION
    hvc     #0
    mov     x22, x0
    adr     x0, str_granted
    bl      puts
    mov     x0, x21
    bl      put_dec
    adr     x0, str_holds
    bl      puts
    mov     x0, x22
    bl      put_dec
    adr     x0, str_state
    bl      puts
    ldr     x9, =TENANT_TOE_IPA
    add     x9, x9, x21, lsl #12
    ldr     w0, [x9, #TOE_STATE]
    bl      put_dec
    bl      newline
    mov     x0, x21
    mov     x1, #1                          // on its second port: the first has its listener
    bl      listen
    add     w0, w22, #TOE_SPI_FIRST         // its interrupt is ours now
    mov     w1, #DYN_PRIORITY
    bl      gic_enable
    ldr     x9, =GICD_BASE
    add     w10, w22, #TOE_SPI_FIRST
    lsr     w11, w10, #5
    add     x13, x9, #GICD_ISENABLER
    ldr     w12, [x13, x11, lsl #2]
    and     w10, w10, #31
    lsr     w12, w12, w10
    and     w19, w12, #1
    adr     x0, str_spi
    bl      puts
    mov     x0, x19
    bl      put_dec
    bl      newline
    b       system_off

// listen: x0 = a slot, x1 = 0 or 1. LISTEN there on port 7000 + 2 * (tenant - 1) + x1 (tenant 1:
// 7000, tenant 2: 7002 and 7003, as manifests/toe_move.toml gives them): "listen on slot K: error
// E, state S".
listen:
    stp     x29, x30, [sp, #-48]!
    stp     x19, x20, [sp, #16]
    str     x21, [sp, #32]
    mov     x19, x0
    mov     x20, x1
    ldr     x21, =TENANT_TOE_IPA            // the slot's page
    add     x21, x21, x19, lsl #12
    ldr     w0, =HYP_TENANT_ID
    hvc     #0
    ldr     w10, =7000 - 2
    add     w10, w10, w0, lsl #1
    add     w10, w10, w20
    str     w10, [x21, #TOE_ARG0]
    mov     w10, #TOE_CMD_LISTEN
    str     w10, [x21, #TOE_CMD]
    adr     x0, str_listen
    bl      puts
    mov     x0, x19
    bl      put_dec
    adr     x0, str_error
    bl      puts
    ldr     w0, [x21, #TOE_ERROR]
    bl      put_dec
    adr     x0, str_state
    bl      puts
    ldr     w0, [x21, #TOE_STATE]
    bl      put_dec
    bl      newline
    ldr     x21, [sp, #32]
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #48
    ret

str_sessions:       .asciz "TOE sessions: "
str_listen:         .asciz "listen on slot "
str_error:          .asciz ": error "
str_state:          .asciz ", state "
str_taken:          .asciz "slot taken: "
str_now:            .asciz ", sessions now "
str_still:          .asciz "read the page it had: NOT CONTAINED\n"
str_granted:        .asciz "slot granted: "
str_holds:          .asciz " holds session "
str_spi:            .asciz "its SPI enabled in my view: "
    .balign 4

    EL1_VECTORS dyn_irq_entry

.include "../include/tenant_bss.inc"
