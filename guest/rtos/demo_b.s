// demo_b: ping-pong over two binary semaphores, events counted by a counting semaphore, and
// a supervisor that waits for every worker through another counting semaphore.
//
//   supervisor (priority 5) takes `finished` once per worker (4), then powers off.
//   periodic   (priority 4) wakes every 7 ticks, three times; each time it gives `events`
//              twice in a row, which a binary semaphore could not count.
//   pong       (priority 3) takes `pong_turn`, prints "pong i", gives `ping_turn`.
//   ping       (priority 2) every 5 ticks prints "ping i" and gives `pong_turn`: pong, more
//              urgent, runs at once; then ping takes `ping_turn` (2-tick timeout) and goes on.
//   drain      (priority 1) takes `events` with a 10-tick timeout and prints each event with
//              the count still pending; it gives up 10 ticks after the last one.
//
// Ticks: ping 5, 10, 15, 20; periodic 7, 14, 21; drain's timeout at 31. Expected transcript:
//
//   rtos_demo_b: ping-pong over binary semaphores, events through a counting semaphore
//   ping 1, pong 1                                             (tick 5)
//   [periodic] tick 7: 2 events
//   [drain] event 1, 1 still pending
//   [drain] event 2, 0 still pending
//   ping 2, pong 2                                             (tick 10)
//   [periodic] tick 14: 2 events, [drain] event 3 and 4
//   ping 3, pong 3, ping 4, pong 4                             (ticks 15, 20)
//   [periodic] tick 21: 2 events, [drain] event 5 and 6
//   [drain] no event for 10 ticks                              (tick 31)
//   rtos_demo_b: 4 workers finished, powering off
//
// Built twice: as is (exit by semihosting, for QEMU) and by demo_b_tenant.s (PSCI over HVC).

// 100 Hz rather than the kernel's default 1 kHz: the order of lines holds as long as each
// tick is taken less than a period late, and as a tenant sharing a core (time slices of a
// few ms) or on a busy host, 10 ms leaves that margin where 1 ms would not.
.equ configTICK_RATE_HZ,    100

.include "rtos.inc"

.equ ROUNDS,                4       // ping-pong exchanges
.equ PING_PERIOD,           5
.equ PONG_TIMEOUT,          2
.equ PERIODIC_PERIOD,       7
.equ PERIODIC_ROUNDS,       3
.equ EVENTS_PER_ROUND,      2
.equ EVENTS_MAX,            10
.equ DRAIN_TIMEOUT,         10
.equ WORKERS,               4       // ping, pong, periodic, drain
.equ TASK_STACK_SIZE,       0x800

.equ SUPERVISOR_PRIORITY,   5
.equ PERIODIC_PRIORITY,     4
.equ PONG_PRIORITY,         3
.equ PING_PRIORITY,         2
.equ DRAIN_PRIORITY,        1

app_main:
    adr     x0, str_banner
    bl      vPrintf

    ldr     x0, =ping_turn
    bl      xSemaphoreCreateBinaryStatic
    ldr     x0, =pong_turn
    bl      xSemaphoreCreateBinaryStatic
    mov     x0, #EVENTS_MAX
    mov     x1, #0
    ldr     x2, =events
    bl      xSemaphoreCreateCountingStatic
    mov     x0, #WORKERS
    mov     x1, #0
    ldr     x2, =finished
    bl      xSemaphoreCreateCountingStatic

    CREATE_TASK supervisor_task, str_supervisor, SUPERVISOR_PRIORITY, supervisor_stack, supervisor_tcb
    CREATE_TASK periodic_task, str_periodic, PERIODIC_PRIORITY, periodic_stack, periodic_tcb
    CREATE_TASK pong_task, str_pong, PONG_PRIORITY, pong_stack, pong_tcb
    CREATE_TASK ping_task, str_ping, PING_PRIORITY, ping_stack, ping_tcb
    CREATE_TASK drain_task, str_drain, DRAIN_PRIORITY, drain_stack, drain_tcb
    b       vTaskStartScheduler

// supervisor_task: blocks until each worker has given `finished`, then powers off.
supervisor_task:
    mov     x19, #WORKERS
supervisor_wait:
    ldr     x0, =finished
    mov     x1, #portMAX_DELAY
    bl      xSemaphoreTake
    subs    x19, x19, #1
    b.ne    supervisor_wait
    adr     x0, fmt_all_done
    mov     x1, #WORKERS
    bl      vPrintf
    mov     w0, #0
    b       vRtosExit

// worker_finished: where every worker ends: tells the supervisor, then deletes the calling
// task (vTaskDelete(NULL)). Does not return.
worker_finished:
    ldr     x0, =finished
    bl      xSemaphoreGive                  // the supervisor is more urgent: it runs first
    mov     x0, #0
    b       vTaskDelete

// ping_task: x19 = round. Paced by the tick; hands each turn to pong and waits for it back.
ping_task:
    sub     sp, sp, #16
    bl      xTaskGetTickCount
    str     x0, [sp]
    mov     x19, #1
ping_round:
    mov     x0, sp
    mov     x1, #PING_PERIOD
    bl      xTaskDelayUntil
    adr     x0, fmt_ping
    mov     x1, x19
    bl      vPrintf
    ldr     x0, =pong_turn
    bl      xSemaphoreGive                  // pong is more urgent: it runs before this returns
    ldr     x0, =ping_turn
    mov     x1, #PONG_TIMEOUT
    bl      xSemaphoreTake
    cbnz    x0, ping_answered
    adr     x0, fmt_no_pong
    mov     x1, x19
    bl      vPrintf
ping_answered:
    add     x19, x19, #1
    cmp     x19, #ROUNDS
    b.ls    ping_round
    add     sp, sp, #16
    b       worker_finished

// pong_task: x19 = round. Answers every ping.
pong_task:
    mov     x19, #1
pong_round:
    ldr     x0, =pong_turn
    mov     x1, #portMAX_DELAY
    bl      xSemaphoreTake
    adr     x0, fmt_pong
    mov     x1, x19
    bl      vPrintf
    ldr     x0, =ping_turn
    bl      xSemaphoreGive
    add     x19, x19, #1
    cmp     x19, #ROUNDS
    b.ls    pong_round
    b       worker_finished

// periodic_task: x19 = rounds left. Prints the tick it was due at, then gives two events.
periodic_task:
    sub     sp, sp, #16
    bl      xTaskGetTickCount
    str     x0, [sp]
    mov     x19, #PERIODIC_ROUNDS
periodic_round:
    mov     x0, sp
    mov     x1, #PERIODIC_PERIOD
    bl      xTaskDelayUntil
    adr     x0, fmt_periodic
    ldr     x1, [sp]
    mov     x2, #EVENTS_PER_ROUND
    bl      vPrintf
    mov     x20, #EVENTS_PER_ROUND
periodic_give:
    ldr     x0, =events
    bl      xSemaphoreGive                  // drain is less urgent: it runs after we block
    subs    x20, x20, #1
    b.ne    periodic_give
    subs    x19, x19, #1
    b.ne    periodic_round
    add     sp, sp, #16
    b       worker_finished

// drain_task: x19 = events taken. Each take removes one from the count, however many
// periodic gave while drain waited its turn.
drain_task:
    mov     x19, #0
drain_next:
    ldr     x0, =events
    mov     x1, #DRAIN_TIMEOUT
    bl      xSemaphoreTake
    cbz     x0, drain_timeout
    add     x19, x19, #1
    ldr     x0, =events
    bl      uxSemaphoreGetCount
    mov     x2, x0
    adr     x0, fmt_event
    mov     x1, x19
    bl      vPrintf
    b       drain_next
drain_timeout:
    adr     x0, fmt_no_event
    mov     x1, #DRAIN_TIMEOUT
    bl      vPrintf
    b       worker_finished

str_banner:     .asciz "rtos_demo_b: ping-pong over binary semaphores, events through a counting semaphore\n"
str_supervisor: .asciz "supervisor"
str_periodic:   .asciz "periodic"
str_ping:       .asciz "ping"
str_pong:       .asciz "pong"
str_drain:      .asciz "drain"
fmt_ping:       .asciz "ping %u\n"
fmt_pong:       .asciz "pong %u\n"
fmt_no_pong:    .asciz "ping %u: no pong within 2 ticks\n"
fmt_periodic:   .asciz "[periodic] tick %u: %u events\n"
fmt_event:      .asciz "[drain] event %u, %u still pending\n"
fmt_no_event:   .asciz "[drain] no event for %u ticks\n"
fmt_all_done:   .asciz "rtos_demo_b: %u workers finished, powering off\n"

    .ltorg                                  // literals before the zero-filled part
    .balign 16                              // (Keystone pads with NOPs: not after __bss_start)
__bss_start:
.include "rtos_bss.inc"
ping_turn:          .space QUEUE_SIZE
pong_turn:          .space QUEUE_SIZE
events:             .space QUEUE_SIZE
finished:           .space QUEUE_SIZE
supervisor_tcb:     .space TCB_SIZE
periodic_tcb:       .space TCB_SIZE
pong_tcb:           .space TCB_SIZE
ping_tcb:           .space TCB_SIZE
drain_tcb:          .space TCB_SIZE
supervisor_stack:   .space TASK_STACK_SIZE
periodic_stack:     .space TASK_STACK_SIZE
pong_stack:         .space TASK_STACK_SIZE
ping_stack:         .space TASK_STACK_SIZE
drain_stack:        .space TASK_STACK_SIZE
__bss_end:
