// resizer: the manager of manifests/resize.toml (emu run --smp 2). Under the elastic tenant's load
// it grows it from 1 core and 2 MiB to 2 cores and 8 MiB, lets it work, then takes the core and
// the region back. Each step is printed with the virtual time (counter ticks) it was made at.


.equ ELASTIC,           1
.equ CORE,              1
.equ REGION_IPA,        0x40200000
.equ REGION_SIZE,       0x600000
.equ RECLAIM_US,        500000          // it gives it back at once; on QEMU (host clock) a loaded host can stall it

.include "../include/dyn.inc"        // board, smccc, gic, tenant.inc and its IRQ routines
    DYN_ROUTINES

main:
    DYN_START
    mov     x0, #2
    bl      sleep_ms
    ldr     w0, =HYP_MEM_GRANT
    mov     x1, #ELASTIC
    ldr     x2, =REGION_IPA
    ldr     x3, =REGION_SIZE
    hvc     #0
    adr     x1, str_grant_memory
    bl      say_at
    ldr     w0, =HYP_CORE_GRANT
    mov     x1, #ELASTIC
    mov     x2, #CORE
    hvc     #0
    adr     x1, str_grant_core
    bl      say_at
    bl      info
    mov     x0, #2                          // while both vCPUs work, on QEMU too
    bl      sleep_ms
    ldr     w0, =HYP_CORE_RECLAIM
    mov     x1, #ELASTIC
    mov     x2, #CORE
    hvc     #0
    adr     x1, str_reclaim_core
    bl      say_at
    ldr     w0, =HYP_MEM_RECLAIM
    mov     x1, #ELASTIC
    ldr     x2, =REGION_IPA
    ldr     x3, =RECLAIM_US
    hvc     #0
    adr     x1, str_reclaim_memory
    bl      say_at
    bl      wait_message
    cmp     x0, #HYP_MSG_RELEASED
    adr     x0, str_released
    b.eq    main_said
    adr     x0, str_not_released
main_said:
    bl      puts
    bl      info
    b       system_off

// info: "elastic: RAM 0x..., cores 0x..., regions 0x40000000+0x200000 ..." (HYP_PART_REGION).
info:
    stp     x29, x30, [sp, #-32]!
    stp     x19, x20, [sp, #16]
    ldr     w0, =HYP_PART_INFO
    mov     x1, #ELASTIC
    hvc     #0
    mov     x19, x1
    mov     x20, x2
    adr     x0, str_elastic
    bl      puts
    mov     x0, x19
    bl      put_hex
    adr     x0, str_cores
    bl      puts
    mov     x0, x20
    bl      put_hex
    adr     x0, str_regions
    bl      puts
    mov     x19, #0                         // region k
info_region:
    ldr     w0, =HYP_PART_REGION
    mov     x1, #ELASTIC
    mov     x2, x19
    hvc     #0
    cbnz    x0, info_done                   // past the last
    mov     x20, x2
    mov     x0, x1
    bl      put_hex
    mov     w0, #'+'
    bl      putc
    mov     x0, x20
    bl      put_hex
    mov     w0, #' '
    bl      putc
    add     x19, x19, #1
    b       info_region
info_done:
    bl      newline
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #32
    ret

str_grant_memory:   .asciz "grant 6 MiB at 0x40200000: "
str_grant_core:     .asciz "grant core 1: "
str_reclaim_core:   .asciz "take core 1 back: "
str_reclaim_memory: .asciz "reclaim 0x40200000 within 500 ms: "
str_released:       .asciz "the region came back\n"
str_not_released:   .asciz "the region did not come back\n"
str_elastic:        .asciz "elastic: RAM "
str_cores:          .asciz ", cores "
str_regions:        .asciz ", regions "
    .balign 4

    EL1_VECTORS dyn_irq_entry

.include "../include/tenant_bss.inc"
