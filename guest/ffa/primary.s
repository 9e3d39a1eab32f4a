// primary: the manager of manifests/primary.toml, which schedules the other tenants itself with
// FF-A's FFA_RUN, as Hafnium's primary VM does (firmware/include/hyp_ffa.inc). It runs the two
// workers round robin, then by priority (beta before alpha, each until it blocks), then trades FF-A
// messages with them (guest/include/ffa_msg.inc), then runs the rogue twice: once cut short by its
// own timer, once to its end (contained: FFA_ERROR(ABORTED)).


.equ ALPHA,             2               // vm_ids: tenant index + 1
.equ BETA,              3
.equ ROGUE,             4
.equ ROUNDS,            3

.include "../include/dyn.inc"        // board, smccc, gic, tenant.inc and its IRQ routines
    DYN_ROUTINES
.include "../include/ffa_msg.inc"
    FFA_MSG_ROUTINES

main:
    DYN_START
    ldr     w0, =FFA_VERSION
    hvc     #0
    mov     x19, x0
    ldr     w0, =FFA_ID_GET
    hvc     #0
    mov     x20, x2
    adr     x0, str_version
    bl      puts
    lsr     x0, x19, #16
    bl      put_dec
    mov     w0, #'.'
    bl      putc
    and     x0, x19, #0xffff
    bl      put_dec
    adr     x0, str_id
    bl      puts
    mov     x0, x20
    bl      put_dec
    bl      newline
    // Round robin.
    adr     x0, str_round_robin
    bl      puts
    mov     x21, #0
round:
    mov     x0, #ALPHA
    bl      run
    mov     x0, #BETA
    bl      run
    add     x21, x21, #1
    cmp     x21, #ROUNDS
    b.lo    round
    // By priority: beta until it blocks, then alpha.
    adr     x0, str_priority
    bl      puts
beta_first:
    mov     x0, #BETA
    bl      run
    ldr     w9, =FFA_MSG_WAIT
    cmp     w0, w9
    b.ne    beta_first
alpha_next:
    mov     x0, #ALPHA
    bl      run
    ldr     w9, =FFA_MSG_WAIT
    cmp     w0, w9
    b.ne    alpha_next
    // Messages: a ping to alpha, which answers; then alpha passes one on to beta.
    adr     x0, str_messages
    bl      puts
    bl      ffa_map_buffers
    mov     x0, #ALPHA
    adr     x1, str_ping
    mov     x2, #4
    bl      ffa_send
    mov     x0, #ALPHA
    bl      run                             // alpha answers: a message to us
    bl      ffa_print_rx
    bl      ffa_rx_release
    mov     x0, #ALPHA
    adr     x1, str_pass
    mov     x2, #10
    bl      ffa_send
    mov     x0, #ALPHA
    bl      run                             // alpha sends one to beta
    mov     x0, #BETA
    bl      run                             // beta reads it, and blocks again
    mov     x0, #ALPHA
    bl      run                             // alpha blocks again
    // The rogue spins: our timer, 1 ms from now, takes the core back.
    adr     x0, str_timer
    bl      puts
    mov     x0, #1
    bl      ms_to_ticks
    mov     x19, x0
    bl      counter_now
    add     x0, x0, x19
    bl      timer_arm_at
    mov     x0, #ROGUE
    bl      run
    msr     daifclr, #2                     // our timer's interrupt, pending: taken here
    isb
    msr     daifset, #2
    mov     x0, #ROGUE                      // again, to its end
    bl      run
    mov     x0, #ROGUE                      // and once more: it is over
    bl      run
    mov     x0, #7                          // no such VM
    bl      run
    adr     x0, str_done
    bl      puts
    b       system_off

// run: x0 = vm_id. FFA_RUN of its vCPU 0, and one line for what came back:
// "run vm V: yield" / "blocked (msg wait, no timeout)" / "preempted (interrupt)" / "error -N".
// x0 = the w0 FFA_RUN returned.
run:
    stp     x29, x30, [sp, #-48]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    mov     x19, x0
    ldr     w0, =FFA_RUN
    lsl     x1, x19, #16
    hvc     #0
    mov     x20, x0
    mov     x21, x1
    mov     x22, x2
    adr     x0, str_run
    bl      puts
    mov     x0, x19
    bl      put_dec
    adr     x0, str_colon
    bl      puts
    ldr     w9, =FFA_YIELD
    adr     x0, str_yield
    cmp     w20, w9
    b.eq    run_said
    ldr     w9, =FFA_INTERRUPT
    adr     x0, str_interrupt
    cmp     w20, w9
    b.eq    run_said
    ldr     w9, =FFA_MSG_WAIT
    cmp     w20, w9
    b.eq    run_wait
    ldr     w9, =FFA_ERROR
    cmp     w20, w9
    b.eq    run_error
    ldr     w9, =FFA_MSG_SEND2
    cmp     w20, w9
    b.eq    run_sent
    adr     x0, str_other
    bl      puts
    mov     x0, x20
    bl      put_hex
    bl      newline
    b       run_done
run_wait:
    adr     x0, str_blocked
    bl      puts
    cmn     x22, #1
    adr     x0, str_no_timeout
    b.eq    run_said
    adr     x0, str_timeout
    bl      puts
    mov     x0, x22
    bl      put_dec
    adr     x0, str_ns
    b       run_said
run_error:
    adr     x0, str_error
    bl      puts
    mov     x0, x22
    bl      put_signed
    bl      newline
    b       run_done
run_sent:
    adr     x0, str_sent
    bl      puts
    mov     x0, x22
    bl      put_dec
    bl      newline
    b       run_done
run_said:
    bl      puts
run_done:
    mov     x0, x20
    ldp     x21, x22, [sp, #32]
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #48
    ret

str_version:        .asciz "FF-A "
str_id:             .asciz ", primary vm_id "
str_round_robin:    .asciz "round robin:\n"
str_priority:       .asciz "by priority, beta first:\n"
str_timer:          .asciz "the rogue, with our timer armed 1 ms ahead:\n"
str_run:            .asciz "run vm "
str_colon:          .asciz ": "
str_yield:          .asciz "yield\n"
str_interrupt:      .asciz "preempted (interrupt)\n"
str_blocked:        .asciz "blocked (msg wait"
str_no_timeout:     .asciz ", no timeout)\n"
str_timeout:        .asciz ", wakes in "
str_ns:             .asciz " ns)\n"
str_error:          .asciz "error "
str_other:          .asciz "returned "
str_done:           .asciz "done\n"
str_messages:       .asciz "messages:\n"
str_ping:           .asciz "ping"
str_pass:           .asciz "pass it on"
str_sent:           .asciz "sent a message to vm "
    .balign 4

    EL1_VECTORS dyn_irq_entry

.include "../include/tenant_bss.inc"
