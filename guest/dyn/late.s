// late: a tenant of manifests/lifecycle.toml that the manifest does not start at boot (start =
// false). Started by the manager, it ticks every millisecond for 100 ms, unless stopped first.


.include "../include/dyn.inc"        // board, smccc, gic, tenant.inc and its IRQ routines
    DYN_ROUTINES

main:
    DYN_START
    adr     x0, str_started
    bl      puts
    mov     x19, #1
tick:
    mov     x0, #1
    bl      sleep_ms
    adr     x0, str_tick
    bl      puts
    mov     x0, x19
    bl      put_dec
    bl      newline
    add     x19, x19, #1
    cmp     x19, #100
    b.ls    tick
    b       system_off

str_started:        .asciz "started\n"
str_tick:           .asciz "tick "
    .balign 4

    EL1_VECTORS dyn_irq_entry

.include "../include/tenant_bss.inc"
