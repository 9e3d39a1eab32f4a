// toemover: the manager of manifests/toe_move.toml. It moves the last TOE session of tenant 1 to
// tenant 2, and shows both shares before and after.


.include "../include/dyn.inc"        // board, smccc, gic, tenant.inc and its IRQ routines
    DYN_ROUTINES

main:
    DYN_START
    bl      shares
    mov     x0, #3
    bl      sleep_ms
    ldr     w0, =HYP_TOE_MOVE
    mov     x1, #1
    mov     x2, #2
    hvc     #0
    adr     x1, str_move
    bl      say
    bl      shares
    mov     x0, #3
    bl      sleep_ms
    b       system_off

// shares: "TOE sessions of tenants 1 and 2: A, B".
shares:
    stp     x29, x30, [sp, #-32]!
    stp     x19, x20, [sp, #16]
    ldr     w0, =HYP_PART_INFO
    mov     x1, #1
    hvc     #0
    mov     x19, x4
    ldr     w0, =HYP_PART_INFO
    mov     x1, #2
    hvc     #0
    mov     x20, x4
    adr     x0, str_shares
    bl      puts
    mov     x0, x19
    bl      put_dec
    adr     x0, str_comma
    bl      puts
    mov     x0, x20
    bl      put_dec
    bl      newline
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #32
    ret

str_move:           .asciz "move tenant 1's last TOE session to tenant 2: "
str_shares:         .asciz "TOE sessions of tenants 1 and 2: "
str_comma:          .asciz ", "
    .balign 4

    EL1_VECTORS dyn_irq_entry

.include "../include/tenant_bss.inc"
