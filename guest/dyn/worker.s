// worker: a tenant that grows and shrinks while it runs (manifests/dynamic.toml). It boots with
// 2 MiB and waits for the hypervisor's messages. A region granted to it is used at once: every
// doubleword written and read back, with a checksum. Asked for it back, it gives it back. Granted
// a region again, it checks that the region is all zero (scrubbed after its last owner), then
// ends.


.include "../include/dyn.inc"        // board, smccc, gic, tenant.inc and its IRQ routines
    DYN_ROUTINES

main:
    DYN_START
    adr     x0, str_waiting
    bl      puts
    mov     x20, #0                         // regions granted so far
next:
    bl      wait_message
    cmp     x0, #HYP_MSG_GRANTED
    b.eq    granted
    cmp     x0, #HYP_MSG_RECLAIM
    b.eq    reclaim
    b       next

// granted: x1 = IPA, x2 = bytes.
granted:
    mov     x21, x1
    mov     x22, x2
    add     x20, x20, #1
    adr     x0, str_granted
    bl      puts
    mov     x0, x21
    bl      put_hex
    adr     x0, str_bytes
    bl      puts
    mov     x0, x22
    bl      put_hex
    bl      newline
    cmp     x20, #1
    b.ne    check_zero
    // Write every doubleword (address * 3 + 1), then read each back into a checksum.
    mov     x9, x21
    add     x10, x21, x22
fill:
    add     x11, x9, x9, lsl #1
    add     x11, x11, #1
    str     x11, [x9], #8
    cmp     x9, x10
    b.lo    fill
    mov     x9, x21
    mov     x12, #0                         // checksum: sum and rotate
    mov     x13, #0                         // words that read back wrong
check_fill:
    ldr     x11, [x9]
    add     x14, x9, x9, lsl #1
    add     x14, x14, #1
    cmp     x11, x14
    cinc    x13, x13, ne
    ror     x12, x12, #7
    add     x12, x12, x11
    add     x9, x9, #8
    cmp     x9, x10
    b.lo    check_fill
    mov     x23, x12
    adr     x0, str_used
    bl      puts
    mov     x0, x13
    bl      put_dec
    adr     x0, str_checksum
    bl      puts
    mov     x0, x23
    bl      put_hex
    bl      newline
    b       next
check_zero:
    mov     x9, x21
    add     x10, x21, x22
    mov     x13, #0                         // doublewords that are not zero
zero:
    ldp     x11, x12, [x9], #16
    orr     x11, x11, x12
    cmp     x11, #0
    cinc    x13, x13, ne
    cmp     x9, x10
    b.lo    zero
    adr     x0, str_zero
    bl      puts
    mov     x0, x13
    bl      put_dec
    adr     x0, str_nonzero
    bl      puts
    b       system_off

// reclaim: x1 = IPA, x2 = bytes, x3 = deadline. Given back at once.
reclaim:
    mov     x21, x1
    adr     x0, str_reclaim
    bl      puts
    mov     x0, x21
    bl      put_hex
    bl      newline
    ldr     w0, =HYP_MEM_RELEASE
    mov     x1, x21
    hvc     #0
    mov     x19, x0
    adr     x0, str_released
    bl      puts
    mov     x0, x19
    bl      put_dec
    bl      newline
    b       next

str_waiting:        .asciz "2 MiB, waiting for the manager\n"
str_granted:        .asciz "granted IPA "
str_bytes:          .asciz ", bytes "
str_used:           .asciz "wrote and read back every doubleword: "
str_checksum:       .asciz " wrong, checksum "
str_zero:           .asciz "the new region reads zero: "
str_nonzero:        .asciz " doublewords not zero\n"
str_reclaim:        .asciz "asked to give back IPA "
str_released:       .asciz "released: "
    .balign 4

    EL1_VECTORS dyn_irq_entry

.include "../include/tenant_bss.inc"
