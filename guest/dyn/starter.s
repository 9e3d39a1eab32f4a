// starter: the manager of manifests/lifecycle.toml. It starts the tenant the manifest left
// stopped (start = false), lets it tick for a few milliseconds, stops it, and shows that a tenant
// that has run cannot be started again, nor a tenant stop itself through this call.


.equ LATE,              1

.include "../include/dyn.inc"        // board, smccc, gic, tenant.inc and its IRQ routines
    DYN_ROUTINES

main:
    DYN_START
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
