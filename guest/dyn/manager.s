// manager: the tenant the manifest marks manager = true (manifests/dynamic.toml). It reads every
// partition, grows the worker from 2 MiB to 8 MiB while it runs, asks for the region back, and
// does the same with the hoarder, which keeps it past the deadline and loses it by force. The
// scrubbed region then goes back to the worker, which finds it all zero. Each step is printed
// with the virtual time (counter ticks) at which the hypervisor answered.


.equ WORKER,            1
.equ HOARDER,           2
.equ TENANTS,           3
.equ REGION_IPA,        0x40200000      // right after the 2 MiB each tenant boots with
.equ REGION_SIZE,       0x600000        // 6 MiB: 2 MiB to 8 MiB
.equ RECLAIM_US,        20000           // 20 ms for the hoarder to give it back
.equ WORKER_RECLAIM_US, 500000          // and 500 ms for the worker, which does at once: on QEMU,
                                        // whose counter is the host's clock, a loaded host can
                                        // leave a guest 20 ms without running

.include "../include/dyn.inc"        // board, smccc, gic, tenant.inc and its IRQ routines
    DYN_ROUTINES

main:
    DYN_START
    mov     x19, #0
info:
    mov     x0, x19
    bl      print_partition
    add     x19, x19, #1
    cmp     x19, #TENANTS
    b.lo    info
    bl      print_pool
    mov     x0, #5                          // the others boot and say they wait
    bl      sleep_ms
    // Grow the worker while it runs.
    mov     x0, #WORKER
    bl      grant
    mov     x0, #30                         // it fills its new 6 MiB meanwhile
    bl      sleep_ms
    mov     x0, #WORKER
    bl      print_partition
    bl      print_pool
    mov     x0, #WORKER
    ldr     x1, =WORKER_RECLAIM_US
    bl      reclaim
    bl      wait_message
    bl      print_message                   // released
    bl      print_pool
    // The hoarder gets it, and does not give it back.
    mov     x0, #HOARDER
    bl      grant
    mov     x0, #10
    bl      sleep_ms
    mov     x0, #HOARDER
    ldr     x1, =RECLAIM_US
    bl      reclaim
    bl      wait_message
    bl      print_message                   // revoked by force
    bl      print_pool
    // The scrubbed region goes back to the worker.
    mov     x0, #WORKER
    bl      grant
    mov     x0, #30
    bl      sleep_ms
    mov     x0, #HOARDER
    bl      print_partition
    bl      print_pool                      // the worker has ended: its region is back
    adr     x0, str_done
    bl      puts
    b       system_off

// grant: x0 = tenant. HYP_MEM_GRANT of the region; "t=N grant tenant T IPA ... 6 MiB: 0".
grant:
    stp     x29, x30, [sp, #-32]!
    str     x19, [sp, #16]
    mov     x19, x0
    ldr     w0, =HYP_MEM_GRANT
    mov     x1, x19
    ldr     x2, =REGION_IPA
    ldr     x3, =REGION_SIZE
    hvc     #0
    mov     x1, x0
    adr     x0, str_grant
    mov     x2, x19
    bl      print_step
    ldr     x19, [sp, #16]
    ldp     x29, x30, [sp], #32
    ret

// reclaim: x0 = tenant, x1 = microseconds. HYP_MEM_RECLAIM of the region with that long to give
// it back; "t=TICKS reclaim 0x40200000 within N ms from tenant T: result".
reclaim:
    stp     x29, x30, [sp, #-48]!
    stp     x19, x20, [sp, #16]
    str     x21, [sp, #32]
    mov     x19, x0
    mov     x20, x1
    ldr     w0, =HYP_MEM_RECLAIM
    mov     x1, x19
    ldr     x2, =REGION_IPA
    mov     x3, x20
    hvc     #0
    mov     x21, x0
    bl      print_time
    adr     x0, str_reclaim
    bl      puts
    mov     x0, x20
    mov     x9, #1000
    udiv    x0, x0, x9
    bl      put_dec
    adr     x0, str_ms_from
    bl      puts
    mov     x0, x19
    bl      put_dec
    adr     x0, str_colon
    bl      puts
    mov     x0, x21
    bl      put_signed
    bl      newline
    ldr     x21, [sp, #32]
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #48
    ret

// print_step: x0 = what, x1 = result, x2 = tenant. "t=TICKS what T: result".
print_step:
    stp     x29, x30, [sp, #-48]!
    stp     x19, x20, [sp, #16]
    str     x21, [sp, #32]
    mov     x19, x0
    mov     x20, x1
    mov     x21, x2
    bl      print_time
    mov     x0, x19
    bl      puts
    mov     x0, x21
    bl      put_dec
    adr     x0, str_colon
    bl      puts
    mov     x0, x20
    bl      put_signed
    bl      newline
    ldr     x21, [sp, #32]
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #48
    ret

// print_message: x0-x3 = a message (released or revoked: x1 = tenant, x2 = IPA, x3 = bytes).
print_message:
    stp     x29, x30, [sp, #-48]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    mov     x19, x0
    mov     x20, x1
    mov     x21, x2
    mov     x22, x3
    bl      print_time
    adr     x0, str_released
    cmp     x19, #HYP_MSG_RELEASED
    b.eq    print_message_kind
    adr     x0, str_revoked
    cmp     x19, #HYP_MSG_REVOKED
    b.eq    print_message_kind
    adr     x0, str_other
print_message_kind:
    bl      puts
    mov     x0, x20
    bl      put_dec
    adr     x0, str_at
    bl      puts
    mov     x0, x21
    bl      put_hex
    adr     x0, str_bytes
    bl      puts
    mov     x0, x22
    bl      put_hex
    bl      newline
    ldp     x21, x22, [sp, #32]
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #48
    ret

// print_partition: x0 = tenant. "tenant T: state S, RAM 0x..., cores 0x..., irqs 0x..., toe N".
print_partition:
    stp     x29, x30, [sp, #-64]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    mov     x19, x0
    ldr     w0, =HYP_PART_INFO
    mov     x1, x19
    hvc     #0
    mov     x20, x0
    mov     x21, x1
    mov     x22, x2
    mov     x23, x3
    mov     x24, x4
    adr     x0, str_tenant
    bl      puts
    mov     x0, x19
    bl      put_dec
    adr     x0, str_state
    bl      puts
    mov     x0, x20
    bl      put_signed
    adr     x0, str_ram
    bl      puts
    mov     x0, x21
    bl      put_hex
    adr     x0, str_cores
    bl      puts
    mov     x0, x22
    bl      put_hex
    adr     x0, str_irqs
    bl      puts
    mov     x0, x23
    bl      put_hex
    adr     x0, str_toe
    bl      puts
    mov     x0, x24
    bl      put_dec
    bl      newline
    ldp     x23, x24, [sp, #48]
    ldp     x21, x22, [sp, #32]
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #64
    ret

// print_pool: "pool: 0x... of 0x... free".
print_pool:
    stp     x29, x30, [sp, #-32]!
    stp     x19, x20, [sp, #16]
    ldr     w0, =HYP_PART_INFO
    mov     x1, #HYP_POOL
    hvc     #0
    mov     x19, x1
    mov     x20, x2
    adr     x0, str_pool
    bl      puts
    mov     x0, x19
    bl      put_hex
    adr     x0, str_of
    bl      puts
    mov     x0, x20
    bl      put_hex
    adr     x0, str_free
    bl      puts
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #32
    ret

str_tenant:         .asciz "tenant "
str_state:          .asciz ": state "
str_ram:            .asciz ", RAM "
str_cores:          .asciz ", cores "
str_irqs:           .asciz ", irqs "
str_toe:            .asciz ", toe "
str_pool:           .asciz "pool: "
str_of:             .asciz " of "
str_free:           .asciz " free\n"
str_grant:          .asciz "grant 6 MiB at 0x40200000 to tenant "
str_reclaim:        .asciz "reclaim 0x40200000 within "
str_ms_from:        .asciz " ms from tenant "
str_colon:          .asciz ": "
str_released:       .asciz "released by tenant "
str_revoked:        .asciz "revoked from tenant "
str_other:          .asciz "message about tenant "
str_at:             .asciz ": IPA "
str_bytes:          .asciz ", bytes "
str_done:           .asciz "done\n"
    .balign 4

    EL1_VECTORS dyn_irq_entry

.include "../include/tenant_bss.inc"
