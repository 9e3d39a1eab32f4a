// elastic: a tenant that grows from 1 core and 2 MiB to 2 cores and 8 MiB under load, and shrinks
// back, losing nothing (manifests/resize.toml, emu run --smp 2). Its load is UNITS units of work:
// unit k fills a 64 KiB buffer with the words hash(k, i) and sums them into a checksum. Its vCPUs
// claim units from a shared counter (LDAXR/STXR) and mark each done with its checksum. A vCPU whose
// core is taken back stops wherever it is; its unfinished unit is done again by vCPU 0 at the end.
// Messages from the hypervisor come to vCPU 0 (HYP_EVENT_INTID):
//   - a granted region: the vCPUs put their buffers in it (memory the tenant did not boot with);
//   - a granted core: vCPU 1 is started on it with PSCI CPU_ON;
//   - a core taken: vCPU 1 is gone; where it stopped is printed;
//   - a region to give back: the buffers move back into the RAM it booted with, then it is released.
// At the end: every unit done once, the sum of their checksums, and how many were done again.


.equ UNITS,             1024
.equ UNIT_BYTES,        0x10000
.equ HOME_BUFFERS,      0x40100000      // in the 2 MiB it boots with: a 64 KiB buffer per vCPU
.equ VCPU1_STACK_TOP,   0x400f0000
.equ DONE_NONE,         0
.equ DONE_YES,          1

.include "../include/dyn.inc"        // board, smccc, gic, tenant.inc and its IRQ routines
    DYN_ROUTINES

main:
    DYN_START
    ldr     x0, =HOME_BUFFERS
    ldr     x9, =buffer_base
    str     x0, [x9]
    adr     x0, str_start
    bl      puts
    msr     daifclr, #2                     // messages interrupt the work
work0:
    bl      handle_messages
    mov     x0, #0
    bl      do_one_unit
    cbnz    x0, work0
    // No unit left to claim: wait for vCPU 1 to finish or be taken, then redo what it left.
wait_vcpu1:
    bl      handle_messages
    ldr     x9, =vcpu1_state
    ldr     x9, [x9]
    cmp     x9, #1                          // 1: running
    b.ne    finish
    bl      yield
    b       wait_vcpu1
finish:
    msr     daifset, #2
    mov     x19, #0                         // unit
    mov     x20, #0                         // sum of checksums
    mov     x21, #0                         // done again
finish_unit:
    ldr     x9, =done
    ldrb    w10, [x9, x19]
    cmp     w10, #DONE_YES
    b.eq    finish_have
    mov     x0, x19
    mov     x1, #0
    bl      compute_unit
    ldr     x9, =checksums
    str     x0, [x9, x19, lsl #3]
    add     x21, x21, #1
finish_have:
    ldr     x9, =checksums
    ldr     x10, [x9, x19, lsl #3]
    add     x20, x20, x10
    add     x19, x19, #1
    cmp     x19, #UNITS
    b.lo    finish_unit
    adr     x0, str_units
    bl      puts
    mov     x0, #UNITS
    bl      put_dec
    adr     x0, str_sum
    bl      puts
    mov     x0, x20
    bl      put_hex
    adr     x0, str_redone
    bl      puts
    mov     x0, x21
    bl      put_dec
    adr     x0, str_by_vcpu
    bl      puts
    ldr     x9, =units_by
    ldr     x0, [x9]
    bl      put_dec
    mov     w0, #'/'
    bl      putc
    ldr     x9, =units_by
    ldr     x0, [x9, #8]
    bl      put_dec
    bl      newline
    b       system_off

// do_one_unit: x0 = this vCPU. Claims the next unit and does it. x0 = 0 if none was left.
do_one_unit:
    stp     x29, x30, [sp, #-32]!
    stp     x19, x20, [sp, #16]
    mov     x20, x0
    ldr     x9, =next_unit
do_one_unit_claim:
    ldaxr   x19, [x9]
    cmp     x19, #UNITS
    b.hs    do_one_unit_none
    add     x10, x19, #1
    stxr    w11, x10, [x9]
    cbnz    w11, do_one_unit_claim
    mov     x0, x19
    mov     x1, x20
    bl      compute_unit
    ldr     x9, =checksums
    str     x0, [x9, x19, lsl #3]
    dmb     ish
    ldr     x9, =done
    mov     w10, #DONE_YES
    strb    w10, [x9, x19]
    ldr     x9, =units_by
    ldr     x10, [x9, x20, lsl #3]
    add     x10, x10, #1
    str     x10, [x9, x20, lsl #3]
    mov     x0, #1
    b       do_one_unit_done
do_one_unit_none:
    clrex
    mov     x0, #0
do_one_unit_done:
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #32
    ret

// compute_unit: x0 = unit, x1 = vCPU. Fills its buffer (buffer_base + vCPU * 64 KiB) with
// hash(unit, i) = (unit * 2^32 + i) * 0x9e3779b97f4a7c15 ^ (that >> 29), reads it back and sums.
// x0 = the checksum. Clobbers x0-x15.
compute_unit:
    ldr     x9, =buffer_base
    ldr     x9, [x9]
    add     x9, x9, x1, lsl #16             // UNIT_BYTES
    lsl     x10, x0, #32
    ldr     x11, =0x9e3779b97f4a7c15
    mov     x12, #0                         // i
    mov     x13, x9
compute_unit_fill:
    add     x14, x10, x12
    mul     x14, x14, x11
    eor     x14, x14, x14, lsr #29
    str     x14, [x13], #8
    add     x12, x12, #1
    cmp     x12, #(UNIT_BYTES / 8)
    b.lo    compute_unit_fill
    mov     x0, #0
    mov     x13, x9
    add     x15, x9, #UNIT_BYTES
compute_unit_sum:
    ldr     x14, [x13], #8
    ror     x0, x0, #13
    add     x0, x0, x14
    cmp     x13, x15
    b.lo    compute_unit_sum
    ret

// vcpu1_entry: x0 = 1 (the context ID). Its own stack; it claims units until none is left.
vcpu1_entry:
    ldr     x9, =VCPU1_STACK_TOP
    mov     sp, x9
vcpu1_work:
    mov     x0, #1
    bl      do_one_unit
    cbnz    x0, vcpu1_work
    ldr     x9, =vcpu1_state
    mov     x10, #3                         // 3: finished
    str     x10, [x9]
    ldr     w0, =PSCI_CPU_OFF
    hvc     #0
    b       .

// handle_messages (vCPU 0): every waiting message, acted on.
handle_messages:
    stp     x29, x30, [sp, #-48]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
handle_messages_next:
    bl      message_recv
    cbz     x0, handle_messages_release
    mov     x19, x1
    mov     x20, x2
    mov     x21, x3
    cmp     x0, #HYP_MSG_GRANTED
    b.eq    msg_granted
    cmp     x0, #HYP_MSG_RECLAIM
    b.eq    msg_reclaim
    cmp     x0, #HYP_MSG_CORE_GRANTED
    b.eq    msg_core_granted
    cmp     x0, #HYP_MSG_CORE_TAKEN
    b.eq    msg_core_taken
    b       handle_messages_next
msg_granted:                                // x19 = IPA, x20 = bytes: the buffers move there
    ldr     x9, =region
    str     x19, [x9]
    ldr     x9, =buffer_base
    str     x19, [x9]
    adr     x0, str_grown
    bl      puts
    mov     x0, x20
    lsr     x0, x0, #20
    add     x0, x0, #2
    bl      put_dec
    adr     x0, str_mib_units
    bl      puts
    bl      put_progress
    b       handle_messages_next
msg_reclaim:                                // released once no vCPU can be in it
    ldr     x9, =pending_release
    str     x19, [x9]
    b       handle_messages_next
handle_messages_release:
    ldr     x9, =pending_release
    ldr     x19, [x9]
    cbz     x19, handle_messages_done
    ldr     x9, =vcpu1_state                // vCPU 1 may still be in a unit there
    ldr     x9, [x9]
    cmp     x9, #1
    b.eq    handle_messages_done
    ldr     x9, =pending_release
    str     xzr, [x9]
    ldr     x0, =HOME_BUFFERS
    ldr     x9, =buffer_base
    str     x0, [x9]
    ldr     w0, =HYP_MEM_RELEASE
    mov     x1, x19
    hvc     #0
    mov     x22, x0
    adr     x0, str_shrunk
    bl      puts
    mov     x0, x22
    bl      put_dec
    bl      put_progress
    b       handle_messages_done
msg_core_granted:                           // x19 = the new vCPU, x20 = its core
    ldr     x9, =vcpu1_state
    mov     x10, #1
    str     x10, [x9]
    ldr     w0, =PSCI_CPU_ON
    mov     x1, x19
    ldr     x2, =vcpu1_entry
    mov     x3, x19
    hvc     #0
    mov     x22, x0
    adr     x0, str_core
    bl      puts
    mov     x0, x20
    bl      put_dec
    adr     x0, str_vcpu_on
    bl      puts
    mov     x0, x19
    bl      put_dec
    adr     x0, str_cpu_on
    bl      puts
    mov     x0, x22
    bl      put_dec
    bl      put_progress
    b       handle_messages_next
msg_core_taken:                             // x19 = vCPU, x20 = its PC, x21 = core
    ldr     x9, =vcpu1_state
    mov     x10, #2
    str     x10, [x9]
    adr     x0, str_vcpu
    bl      puts
    mov     x0, x19
    bl      put_dec
    adr     x0, str_taken
    bl      puts
    mov     x0, x21
    bl      put_dec
    adr     x0, str_stopped_in
    bl      puts
    mov     x0, x20
    bl      symbol_of_pc
    bl      puts
    bl      put_progress
    b       handle_messages_next
handle_messages_done:
    ldp     x21, x22, [sp, #32]
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #48
    ret

// symbol_of_pc: x0 = a PC of ours. x0 = "its work" for the code vCPU 1 runs (do_one_unit to
// vcpu1_entry's end), else "another routine".
symbol_of_pc:
    adr     x9, do_one_unit
    adr     x10, handle_messages
    cmp     x0, x9
    b.lo    symbol_of_pc_other
    cmp     x0, x10
    b.hs    symbol_of_pc_other
    adr     x0, str_its_work
    ret
symbol_of_pc_other:
    adr     x0, str_elsewhere
    ret

// put_progress: " (N units claimed)\n".
put_progress:
    stp     x29, x30, [sp, #-16]!
    adr     x0, str_open
    bl      puts
    ldr     x9, =next_unit
    ldr     x0, [x9]
    bl      put_dec
    adr     x0, str_claimed
    bl      puts
    ldp     x29, x30, [sp], #16
    ret

str_start:          .asciz "1 core, 2 MiB: 1024 units of work\n"
str_grown:          .asciz "grown to "
str_mib_units:      .asciz " MiB, buffers moved there"
str_shrunk:         .asciz "buffers back home, region released: "
str_core:           .asciz "core "
str_vcpu_on:        .asciz " granted: vCPU "
str_cpu_on:         .asciz " started: CPU_ON "
str_open:           .asciz " ("
str_vcpu:           .asciz "vCPU "
str_taken:          .asciz " stopped: its core "
str_stopped_in:     .asciz " was taken back while it ran in "
str_its_work:       .asciz "its work"
str_elsewhere:      .asciz "another routine"
str_claimed:        .asciz " units claimed)\n"
str_units:          .asciz "done: "
str_sum:            .asciz " units, checksum "
str_redone:         .asciz ", done again "
str_by_vcpu:        .asciz ", by vCPU 0/1 "
    .balign 4

    EL1_VECTORS dyn_irq_entry

.include "../include/tenant_bss.inc"
buffer_base:        .quad 0
region:             .quad 0
pending_release:    .quad 0
next_unit:          .quad 0
vcpu1_state:        .quad 0
units_by:           .quad 0, 0
checksums:          .space UNITS * 8
done:               .space UNITS
