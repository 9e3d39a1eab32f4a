// net_echo: a TCP echo server as an RTOS tenant, on its share of the TOE (manifests/net.toml).
// Its session 0 listens on port 7000; a service task serves every other session: what a client
// sends comes back, and a connection the client has ended is closed, which frees the session
// for the next. It serves until the system is stopped (emu demo --net, Ctrl-C).

.equ EXIT_VIA_HVC,          1
.equ configTICK_RATE_HZ,    1000
.equ configUSE_APP_IRQ,     1               // the TOE's interrupts wake the service (rtos_toe.inc)            // the driver polls once a tick: 1 ms
.include "rtos.inc"
.include "rtos_toe.inc"

.equ PORT,                  7000
.equ CHUNK,                 0x10000         // a whole TOE buffer: one RX takes all that came
.equ TASK_STACK_SIZE,       0x1000
.equ IDLE_WAIT,             10              // ticks a service sleeps with nothing to do
.equ SERVICE_PRIORITY,      2

app_main:
    mov     x0, #PORT
    adr     x1, fmt_listening
    bl      toe_start_service
    bl      toe_enable_irqs
    CREATE_TASK echo_task, str_echo, SERVICE_PRIORITY, echo_stack, echo_tcb
    b       vTaskStartScheduler

// echo_task: x19 = session, x20 = its page, x21 = bytes received.
echo_task:
echo_round:
    mov     x19, #1
echo_session:
    mov     x0, x19
    bl      toe_page
    mov     x20, x0
    bl      toe_finished                    // a reset one too: it is closed, the session freed
    cbnz    x0, echo_close
    mov     x0, x20
    bl      toe_connected
    cbz     x0, echo_next
echo_drain:
    mov     x0, x20
    ldr     x1, =buffer
    mov     x2, #CHUNK
    bl      toe_recv
    cmp     x0, #0
    b.le    echo_check_end
    mov     x2, x0
    mov     x0, x20
    ldr     x1, =buffer
    bl      toe_send
    b       echo_drain
echo_check_end:
    mov     x0, x20
    bl      toe_finished
    cbz     x0, echo_next
echo_close:
    mov     x0, x20
    mov     w1, #TOE_CMD_CLOSE
    mov     w2, #0
    mov     w3, #0
    bl      toe_command
    ldr     x9, =served
    ldr     x1, [x9]
    add     x1, x1, #1
    str     x1, [x9]
    adr     x0, fmt_served
    bl      vPrintf
echo_next:
    TOE_NEXT_SESSION echo_session, echo_round, IDLE_WAIT

str_echo:           .asciz "echo"
fmt_listening:      .asciz "echo service on TOE port %u, %u sessions for clients\n"
fmt_served:         .asciz "connection %u done\n"

    .ltorg
    .balign 16
__bss_start:
.include "rtos_bss.inc"
toe_sessions:   .space 16
toe_first:      .space 16
toe_event:      .space QUEUE_SIZE
served:         .space 16
echo_tcb:       .space TCB_SIZE
echo_stack:     .space TASK_STACK_SIZE
buffer:         .space CHUNK
__bss_end:
