// io_primary: the primary of manifests/primary_io.toml, where the console's input goes to the I/O
// VM (console_input = true), a secondary. The primary runs it once to let it set up, then waits:
// when the VM has an interrupt pending, the hypervisor tells the primary (HYP_MSG_VM_INTERRUPT),
// which runs it with FFA_RUN until it waits again. When the VM ends, so does the system; after
// IDLE_ROUNDS of 10 ms without a word from it, too.

.equ IO_VM,             2               // vm_id: tenant index + 1
.equ IDLE_ROUNDS,       200

.include "../include/dyn.inc"           // board, smccc, gic, tenant.inc and its IRQ routines
    DYN_ROUTINES

main:
    DYN_START
    mov     x0, #IO_VM
    bl      run
    ldr     w9, =FFA_ERROR
    cmp     w0, w9
    b.eq    ended
    mov     x21, #IDLE_ROUNDS
wait:
    bl      message_recv
    cmp     x0, #HYP_MSG_VM_INTERRUPT
    b.eq    pending
    mov     x0, #10
    bl      sleep_ms
    subs    x21, x21, #1
    b.ne    wait
    adr     x0, str_idle
    bl      puts
    b       system_off
pending:
    mov     x21, #IDLE_ROUNDS
    mov     x19, x1
    mov     x20, x2
    adr     x0, str_pending
    bl      puts
    lsr     x0, x19, #16
    bl      put_dec
    adr     x0, str_intid
    bl      puts
    mov     x0, x20
    bl      put_dec
    bl      newline
    lsr     x0, x19, #16
    bl      run
    ldr     w9, =FFA_ERROR
    cmp     w0, w9
    b.ne    wait
ended:
    adr     x0, str_ended
    bl      puts
    b       system_off

// run: x0 = vm_id. FFA_RUN of its vCPU 0: "run vm N: waits" / "ended" / "returned 0x...".
run:
    stp     x29, x30, [sp, #-32]!
    stp     x19, x20, [sp, #16]
    mov     x19, x0
    ldr     w0, =FFA_RUN
    lsl     x1, x19, #16
    hvc     #0
    mov     x20, x0
    adr     x0, str_run
    bl      puts
    mov     x0, x19
    bl      put_dec
    ldr     w9, =FFA_MSG_WAIT
    adr     x0, str_waits
    cmp     w20, w9
    b.eq    run_said
    ldr     w9, =FFA_ERROR
    adr     x0, str_over
    cmp     w20, w9
    b.eq    run_said
    adr     x0, str_returned
    bl      puts
    mov     x0, x20
    bl      put_hex
    adr     x0, str_nl
run_said:
    bl      puts
    mov     x0, x20
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #32
    ret

str_pending:        .asciz "vm "
str_intid:          .asciz " has an interrupt pending: INTID "
str_run:            .asciz "run vm "
str_waits:          .asciz ": it waits\n"
str_over:           .asciz ": it has ended\n"
str_returned:       .asciz ": returned "
str_nl:             .asciz "\n"
str_ended:          .asciz "the I/O VM has ended: so does the system\n"
str_idle:           .asciz "nothing from the I/O VM for 2 s: done\n"
    .balign 4

    EL1_VECTORS dyn_irq_entry

.include "../include/tenant_bss.inc"
