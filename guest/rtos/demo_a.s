// demo_a: producer and consumer over a queue, plus a periodic task.
//
//   periodic  (priority 3) wakes every 10 ticks (xTaskDelayUntil), prints the tick it woke
//             at, and after the third time powers off.
//   producer  (priority 2) every 7 ticks sends a burst of 3 numbers (1..9 in all) into a
//             queue of 2 items: the third send of each burst blocks on a full queue until
//             the consumer makes room, which wakes the producer and lets it preempt.
//   consumer  (priority 1) receives with an 8-tick timeout and prints what it got; after
//             the last burst the timeout expires and it says so.
//
// Every line follows from priorities and tick numbers: bursts at ticks 7, 14, 21, periodic
// lines at 10, 20, 30, consumer timeout at 29; the work of one tick ends long before the
// next. Expected transcript:
//
//   rtos_demo_a: a producer and a consumer over a queue, a periodic task every 10 ticks
//   [consumer] got 1, [consumer] got 2, [consumer] got 3       (tick 7)
//   [periodic] tick 10
//   [consumer] got 4 .. 6                                      (tick 14)
//   [periodic] tick 20
//   [consumer] got 7 .. 9                                      (tick 21)
//   [consumer] no item for 8 ticks                             (tick 29)
//   [periodic] tick 30
//   rtos_demo_a: done, powering off
//
// Built twice: as is (exit by semihosting, for QEMU) and by demo_a_tenant.s (PSCI over HVC).

// 100 Hz rather than the kernel's default 1 kHz: the order of lines holds as long as each
// tick is taken less than a period late, and as a tenant sharing a core (time slices of a
// few ms) or on a busy host, 10 ms leaves that margin where 1 ms would not.
.equ configTICK_RATE_HZ,    100

.include "rtos.inc"

.equ ITEMS_PER_BURST,       3
.equ BURSTS,                3
.equ BURST_PERIOD,          7
.equ QUEUE_ITEMS,           2
.equ RECEIVE_TIMEOUT,       8
.equ PERIODIC_PERIOD,       10
.equ PERIODIC_ROUNDS,       3
.equ TASK_STACK_SIZE,       0x800

.equ PERIODIC_PRIORITY,     3
.equ PRODUCER_PRIORITY,     2
.equ CONSUMER_PRIORITY,     1

app_main:
    adr     x0, str_banner
    bl      vPrintf

    mov     x0, #QUEUE_ITEMS
    mov     x1, #8                          // items are 64-bit numbers
    ldr     x2, =queue_storage
    ldr     x3, =number_queue
    bl      xQueueCreateStatic

    CREATE_TASK consumer_task, str_consumer, CONSUMER_PRIORITY, consumer_stack, consumer_tcb
    CREATE_TASK producer_task, str_producer, PRODUCER_PRIORITY, producer_stack, producer_tcb
    CREATE_TASK periodic_task, str_periodic, PERIODIC_PRIORITY, periodic_stack, periodic_tcb

    b       vTaskStartScheduler

// producer_task: x19 = next number, x20 = numbers left in this burst, x21 = bursts left.
// The numbers go through a stack slot: xQueueSend copies the item from an address.
producer_task:
    stp     x29, x30, [sp, #-32]!           // x30 = task_returned: kept for the final ret
    bl      xTaskGetTickCount
    str     x0, [sp, #24]                   // the previous wake tick, for xTaskDelayUntil
    mov     x19, #1
    mov     x21, #BURSTS
producer_burst:
    add     x0, sp, #24
    mov     x1, #BURST_PERIOD
    bl      xTaskDelayUntil
    mov     x20, #ITEMS_PER_BURST
producer_send:
    str     x19, [sp, #16]
    ldr     x0, =number_queue
    add     x1, sp, #16
    mov     x2, #portMAX_DELAY
    bl      xQueueSend
    add     x19, x19, #1
    subs    x20, x20, #1
    b.ne    producer_send
    subs    x21, x21, #1
    b.ne    producer_burst
    ldp     x29, x30, [sp], #32
    ret                                     // deletes the task

// consumer_task: prints each number; gives up after RECEIVE_TIMEOUT ticks without one.
consumer_task:
    stp     x29, x30, [sp, #-16]!
    sub     sp, sp, #16
consumer_next:
    ldr     x0, =number_queue
    mov     x1, sp
    mov     x2, #RECEIVE_TIMEOUT
    bl      xQueueReceive
    cbz     x0, consumer_timeout
    adr     x0, fmt_got
    ldr     x1, [sp]
    bl      vPrintf
    b       consumer_next
consumer_timeout:
    adr     x0, fmt_timeout
    mov     x1, #RECEIVE_TIMEOUT
    bl      vPrintf
    add     sp, sp, #16
    ldp     x29, x30, [sp], #16
    ret                                     // deletes the task

// periodic_task: x19 = rounds left. Prints the tick it was due at (exact, unlike a reading
// of the tick count, which could already be later), then powers off after the last round.
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
    bl      vPrintf
    subs    x19, x19, #1
    b.ne    periodic_round
    adr     x0, str_done
    bl      vPrintf
    mov     w0, #0
    b       vRtosExit

str_banner:     .asciz "rtos_demo_a: a producer and a consumer over a queue, a periodic task every 10 ticks\n"
str_consumer:   .asciz "consumer"
str_producer:   .asciz "producer"
str_periodic:   .asciz "periodic"
fmt_got:        .asciz "[consumer] got %u\n"
fmt_timeout:    .asciz "[consumer] no item for %u ticks\n"
fmt_periodic:   .asciz "[periodic] tick %u\n"
str_done:       .asciz "rtos_demo_a: done, powering off\n"

    .ltorg                                  // literals before the zero-filled part
    .balign 16                              // (Keystone pads with NOPs: not after __bss_start)
__bss_start:
.include "rtos_bss.inc"
number_queue:   .space QUEUE_SIZE
queue_storage:  .space QUEUE_ITEMS * 8
consumer_tcb:   .space TCB_SIZE
producer_tcb:   .space TCB_SIZE
periodic_tcb:   .space TCB_SIZE
consumer_stack: .space TASK_STACK_SIZE
producer_stack: .space TASK_STACK_SIZE
periodic_stack: .space TASK_STACK_SIZE
__bss_end:
