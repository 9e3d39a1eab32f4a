// starter: the manager of manifests/lifecycle.toml. It starts the tenant the manifest left
// stopped (start = false), lets it tick for a few milliseconds, stops it, and shows that a tenant
// that has run cannot be started again, nor a tenant stop itself through this call.

.include "board.inc"
.include "smccc.inc"
.include "gic.inc"

.equ LATE,              1

.include "../include/tenant.inc"
    TENANT_IRQ_ROUTINES
.include "../include/dyn.inc"
    DYN_ROUTINES

main:
    EL1_IRQ_SETUP
    DYN_SETUP
    bl      show_state
    ldr     w0, =HYP_TENANT_START
    mov     x1, #LATE
    hvc     #0
    adr     x1, str_start
    bl      say
    bl      show_state
    mov     x0, #5
    bl      sleep_ms
    ldr     w0, =HYP_TENANT_STOP
    mov     x1, #LATE
    hvc     #0
    adr     x1, str_stop
    bl      say
    bl      show_state
    ldr     w0, =HYP_TENANT_START
    mov     x1, #LATE
    hvc     #0
    adr     x1, str_start_again
    bl      say
    ldr     w0, =HYP_TENANT_STOP
    mov     x1, #0
    hvc     #0
    adr     x1, str_stop_self
    bl      say
    b       system_off

// say: x0 = a call's result, x1 = what it was. "what: result".
say:
    stp     x29, x30, [sp, #-32]!
    str     x19, [sp, #16]
    mov     x19, x0
    mov     x0, x1
    bl      puts
    mov     x0, x19
    bl      put_signed
    bl      newline
    ldr     x19, [sp, #16]
    ldp     x29, x30, [sp], #32
    ret

// show_state: "late: state S".
show_state:
    stp     x29, x30, [sp, #-16]!
    ldr     w0, =HYP_PART_INFO
    mov     x1, #LATE
    hvc     #0
    adr     x1, str_state
    bl      say
    ldp     x29, x30, [sp], #16
    ret

str_state:          .asciz "late: state "
str_start:          .asciz "start late: "
str_stop:           .asciz "stop late: "
str_start_again:    .asciz "start late again: "
str_stop_self:      .asciz "stop myself: "
    .balign 4

    EL1_VECTORS dyn_irq_entry

.include "../include/tenant_bss.inc"
