// hoarder: an attacker on a changing partition (manifests/dynamic.toml). It tries the manager's
// calls (refused: NOT_SUPPORTED, and reported), fills the region it is granted with its own
// bytes, and when asked to give it back keeps writing it. At the deadline the hypervisor takes
// the region by force; its next store faults and it is contained. The region, scrubbed, reads
// zero in its next owner (the worker).


.equ PATTERN,           0xa5

.include "../include/dyn.inc"        // board, smccc, gic, tenant.inc and its IRQ routines
    DYN_ROUTINES

main:
    DYN_START
    ldr     w0, =HYP_MEM_GRANT              // give itself the whole pool
    mov     x1, #2
    ldr     x2, =0x40200000
    ldr     x3, =0x1000000
    hvc     #0
    mov     x19, x0
    ldr     w0, =HYP_PART_INFO              // read another tenant's partition
    mov     x1, #0
    hvc     #0
    mov     x20, x0
    adr     x0, str_calls
    bl      puts
    mov     x0, x19
    bl      put_result
    adr     x0, str_and
    bl      puts
    mov     x0, x20
    bl      put_result
    bl      newline
next:
    bl      wait_message
    cmp     x0, #HYP_MSG_GRANTED
    b.eq    granted
    cmp     x0, #HYP_MSG_RECLAIM
    b.eq    hoard
    b       next

// granted: x1 = IPA, x2 = bytes. Its own bytes in every one.
granted:
    mov     x21, x1
    mov     x22, x2
    mov     x0, x21
    mov     x1, x22
    bl      fill
    adr     x0, str_filled
    bl      puts
    b       next

// hoard: asked for it back, it keeps writing it, round after round, and never releases it.
hoard:
    adr     x0, str_keeping
    bl      puts
hoard_round:
    mov     x0, x21
    mov     x1, x22
    bl      fill
    b       hoard_round

// fill: x0 = address, x1 = bytes; every byte PATTERN.
fill:
    mov     x9, #PATTERN
    mov     x10, #0x0101010101010101
    mul     x9, x9, x10
    add     x1, x0, x1
fill_loop:
    stp     x9, x9, [x0], #16
    cmp     x0, x1
    b.lo    fill_loop
    ret

// put_result: x0 = an SMCCC result: "NOT_SUPPORTED" for -1, else the number.
put_result:
    cmn     x0, #1
    b.ne    put_dec
    adr     x0, str_not_supported
    b       puts

str_calls:          .asciz "HYP_MEM_GRANT to itself: "
str_and:            .asciz ", HYP_PART_INFO of tenant 0: "
str_filled:         .asciz "filled its region\n"
str_keeping:        .asciz "asked to give it back: keeping it\n"
str_not_supported:  .asciz "NOT_SUPPORTED"
    .balign 4

    EL1_VECTORS dyn_irq_entry

.include "../include/tenant_bss.inc"
