// ffa_primary: the RTOS as the primary that schedules (manifests/primary_rtos.toml; docs/dynamic.md).
// Each secondary VM is run by a task of its own with FF-A's FFA_RUN, so the kernel's scheduler is
// the VMs' scheduler, as with Hafnium's primary:
//   - the tasks of alpha (vm 2) and beta (vm 3) have the same priority and take turns (vTaskYield):
//     round robin, ROUNDS runs each;
//   - then the urgent task (the highest priority, blocked on a semaphore until beta's task has
//     done its rounds) runs beta until it blocks (FFA_MSG_WAIT), then alpha: by priority.
// While a VM runs, the kernel's tick (the primary's virtual timer) can call the primary back
// (FFA_INTERRUPT); the task then runs the VM again.

.equ EXIT_VIA_HVC,          1
.include "rtos.inc"

.equ ALPHA,                 2
.equ BETA,                  3
.equ ROUNDS,                3
.equ RUNNER_PRIORITY,       1
.equ URGENT_PRIORITY,       3
.equ TASK_STACK_SIZE,       0x800

app_main:
    adr     x0, str_banner
    bl      vPrintf
    ldr     x0, =phase_sem
    bl      xSemaphoreCreateBinaryStatic
    CREATE_TASK alpha_task, str_alpha, RUNNER_PRIORITY, alpha_stack, alpha_tcb
    CREATE_TASK beta_task, str_beta, RUNNER_PRIORITY, beta_stack, beta_tcb
    CREATE_TASK urgent_task, str_urgent, URGENT_PRIORITY, urgent_stack, urgent_tcb
    b       vTaskStartScheduler

alpha_task:
    mov     x19, #ALPHA
    b       runner
beta_task:
    mov     x19, #BETA
    // fall through

// runner: x19 = its VM. ROUNDS runs that end in FFA_YIELD, giving the turn to the other task
// after each; beta's then opens the second phase.
runner:
    stp     x29, x30, [sp, #-16]!
    mov     x20, #ROUNDS
runner_round:
    mov     x0, x19
    bl      run_vm
    ldr     w9, =FFA_YIELD
    cmp     w0, w9
    b.ne    runner_round                    // preempted by our tick: again
    bl      vTaskYield
    subs    x20, x20, #1
    b.ne    runner_round
    cmp     x19, #BETA
    b.ne    runner_done
    ldr     x0, =phase_sem
    bl      xSemaphoreGive                  // the urgent task preempts us here
runner_done:
    ldp     x29, x30, [sp], #16
    ret                                     // deletes the task

// urgent_task: by priority, beta until it blocks, then alpha; then the system ends.
urgent_task:
    ldr     x0, =phase_sem
    mov     x1, #portMAX_DELAY
    bl      xSemaphoreTake
    adr     x0, str_priority
    bl      vPrintf
    mov     x19, #BETA
urgent_vm:
    mov     x0, x19
    bl      run_vm
    ldr     w9, =FFA_MSG_WAIT
    cmp     w0, w9
    b.ne    urgent_vm
    cmp     x19, #ALPHA
    b.eq    urgent_done
    mov     x19, #ALPHA
    b       urgent_vm
urgent_done:
    adr     x0, str_done
    bl      vPrintf
    mov     w0, #0
    b       vRtosExit

// run_vm: x0 = vm_id. FFA_RUN of its vCPU 0 and a line for what came back. x0 = FFA_RUN's w0.
run_vm:
    stp     x29, x30, [sp, #-32]!
    stp     x19, x20, [sp, #16]
    mov     x19, x0
    ldr     w0, =FFA_RUN
    lsl     x1, x19, #16
    hvc     #0
    mov     x20, x0
    ldr     w9, =FFA_YIELD
    adr     x2, str_yield
    cmp     w20, w9
    b.eq    run_vm_say
    ldr     w9, =FFA_MSG_WAIT
    adr     x2, str_blocked
    cmp     w20, w9
    b.eq    run_vm_say
    ldr     w9, =FFA_INTERRUPT
    adr     x2, str_preempted
    cmp     w20, w9
    b.eq    run_vm_say
    adr     x2, str_other
run_vm_say:
    adr     x0, fmt_run
    mov     x1, x19
    bl      vPrintf
    mov     x0, x20
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #32
    ret

str_banner:     .asciz "an RTOS primary: a task per VM, round robin, then by priority\n"
str_priority:   .asciz "by priority: the urgent task runs beta, then alpha\n"
str_done:       .asciz "done\n"
str_alpha:      .asciz "alpha"
str_beta:       .asciz "beta"
str_urgent:     .asciz "urgent"
fmt_run:        .asciz "run vm %u: %s\n"
str_yield:      .asciz "yield"
str_blocked:    .asciz "blocked"
str_preempted:  .asciz "preempted by our tick"
str_other:      .asciz "something else"

    .ltorg
    .balign 16
__bss_start:
.include "rtos_bss.inc"
phase_sem:      .space QUEUE_SIZE
alpha_tcb:      .space TCB_SIZE
beta_tcb:       .space TCB_SIZE
urgent_tcb:     .space TCB_SIZE
alpha_stack:    .space TASK_STACK_SIZE
beta_stack:     .space TASK_STACK_SIZE
urgent_stack:   .space TASK_STACK_SIZE
__bss_end:
