// net_kv: a small key-value store as an RTOS tenant, on its share of the TOE, with a line protocol
// (manifests/net.toml). Its session 0 listens on port 7001; a service task serves every other
// session, one request a line:
//
//   SET key value   ->  OK                  (key 1-31 bytes, value 1-94 bytes, no spaces in key)
//   GET key         ->  VALUE value  or  NOT_FOUND
//   DEL key         ->  DELETED      or  NOT_FOUND
//   anything else   ->  ERROR
//
// A line longer than LINE_MAX is answered ERROR once its end comes. The store holds ENTRIES pairs
// for every client alike (SET on a full store: ERROR full). A client's half-close or reset ends
// its connection and frees its session. It serves until the system is stopped.

.equ EXIT_VIA_HVC,          1
.equ configTICK_RATE_HZ,    1000
.equ configUSE_APP_IRQ,     1               // the TOE's interrupts wake the service (rtos_toe.inc)
.include "rtos.inc"
.include "rtos_toe.inc"

.equ PORT,                  7001
.equ CHUNK,                 0x800
.equ LINE_MAX,              127             // bytes of a request line, newline excluded
.equ ENTRIES,               32
.equ ENTRY_SIZE,            128             // keylen (1), key (31), vlen (1), value (95)
.equ KEY_MAX,               31
.equ VALUE_MAX,             94
.equ E_KEYLEN,              0
.equ E_KEY,                 1
.equ E_VLEN,                32
.equ E_VALUE,               33
.equ TASK_STACK_SIZE,       0x1000
.equ IDLE_WAIT,             10              // ticks a service sleeps with nothing to do
.equ SERVICE_PRIORITY,      2
.equ ASCII_LF,              0x0a
.equ ASCII_CR,              0x0d

app_main:
    mov     x0, #PORT
    adr     x1, fmt_listening
    bl      toe_start_service
    bl      toe_enable_irqs
    CREATE_TASK kv_task, str_kv, SERVICE_PRIORITY, kv_stack, kv_tcb
    b       vTaskStartScheduler

// kv_task: x19 = session, x20 = its page, x21 = its line buffer, x22 = bytes received,
// x23 = index into them.
kv_task:
kv_round:
    mov     x19, #1
kv_session:
    mov     x0, x19
    bl      toe_page
    mov     x20, x0
    ldr     x21, =lines
    add     x21, x21, x19, lsl #8           // 256 bytes a session: length, overflow, the line
    bl      toe_finished                    // a reset one too: it is closed, the session freed
    cbnz    x0, kv_close
    mov     x0, x20
    bl      toe_connected
    cbz     x0, kv_next
kv_drain:
    mov     x0, x20
    ldr     x1, =rxbuf
    mov     x2, #CHUNK
    bl      toe_recv
    cmp     x0, #0
    b.le    kv_check_end
    mov     x22, x0
    mov     x23, #0
kv_byte:
    cmp     x23, x22
    b.hs    kv_drain
    ldr     x9, =rxbuf
    ldrb    w0, [x9, x23]
    add     x23, x23, #1
    cmp     w0, #ASCII_LF
    b.eq    kv_line
    cmp     w0, #ASCII_CR
    b.eq    kv_byte
    ldr     x9, [x21]                       // length
    cmp     x9, #LINE_MAX
    b.hs    kv_overflow
    add     x10, x21, #16
    strb    w0, [x10, x9]
    add     x9, x9, #1
    str     x9, [x21]
    b       kv_byte
kv_overflow:
    mov     x9, #1
    str     x9, [x21, #8]
    b       kv_byte
kv_line:
    mov     x0, x20
    mov     x1, x21
    bl      kv_request
    stp     xzr, xzr, [x21]                 // the next line starts empty
    b       kv_byte
kv_check_end:
    mov     x0, x20
    bl      toe_finished
    cbz     x0, kv_next
kv_close:
    mov     x0, x20
    mov     w1, #TOE_CMD_CLOSE
    mov     w2, #0
    mov     w3, #0
    bl      toe_command
    stp     xzr, xzr, [x21]
kv_next:
    TOE_NEXT_SESSION kv_session, kv_round, IDLE_WAIT

// kv_request: x0 = page, x1 = line state (length, overflow, then the bytes). Answers it.
kv_request:
    stp     x29, x30, [sp, #-64]!
    stp     x19, x20, [sp, #16]
    stp     x21, x22, [sp, #32]
    stp     x23, x24, [sp, #48]
    mov     x19, x0
    ldr     x20, [x1]                       // length
    ldr     x9, [x1, #8]
    add     x21, x1, #16                    // the line
    adr     x22, str_error
    cbnz    x9, kv_reply                    // too long
    cmp     x20, #5                         // "GET k" is the shortest request
    b.lo    kv_reply
    ldr     w9, [x21]                       // the verb and its space, as a little-endian word
    ldr     w10, =0x20544553                // "SET "
    cmp     w9, w10
    b.eq    kv_set
    ldr     w10, =0x20544547                // "GET "
    cmp     w9, w10
    b.eq    kv_get
    ldr     w10, =0x204c4544                // "DEL "
    cmp     w9, w10
    b.eq    kv_del
    b       kv_reply
kv_get:
    bl      kv_key_to_end                   // x23 = key, x24 = its length
    cbz     x24, kv_reply
    bl      kv_find
    adr     x22, str_not_found
    tbnz    x0, #63, kv_reply
    ldr     x9, =store
    add     x9, x9, x0, lsl #7
    adr     x1, str_value
    ldr     x2, =reply
    bl      kv_copy_str                     // "VALUE "
    ldrb    w10, [x9, #E_VLEN]
    add     x11, x9, #E_VALUE
kv_get_copy:
    cbz     w10, kv_get_end
    ldrb    w12, [x11], #1
    strb    w12, [x2], #1
    sub     w10, w10, #1
    b       kv_get_copy
kv_get_end:
    mov     w12, #ASCII_LF
    strb    w12, [x2], #1
    ldr     x1, =reply
    sub     x2, x2, x1
    mov     x0, x19
    bl      toe_send
    b       kv_request_out
kv_del:
    bl      kv_key_to_end
    cbz     x24, kv_reply
    bl      kv_find
    adr     x22, str_not_found
    tbnz    x0, #63, kv_reply
    ldr     x9, =store
    add     x9, x9, x0, lsl #7
    strb    wzr, [x9, #E_KEYLEN]
    adr     x22, str_deleted
    b       kv_reply
kv_set:
    add     x23, x21, #4                    // key: up to the next space
    mov     x24, #0
    sub     x20, x20, #4
kv_set_key:
    cmp     x24, x20
    b.hs    kv_reply                        // no value
    ldrb    w9, [x23, x24]
    cmp     w9, #' '
    b.eq    kv_set_value
    add     x24, x24, #1
    b       kv_set_key
kv_set_value:
    cbz     x24, kv_reply
    cmp     x24, #KEY_MAX
    b.hi    kv_reply
    sub     x20, x20, x24
    sub     x20, x20, #1                    // value length
    cbz     x20, kv_reply
    cmp     x20, #VALUE_MAX
    b.hi    kv_reply
    bl      kv_find
    tbz     x0, #63, kv_set_store
    bl      kv_free                         // x0 = a free entry, or negative
    adr     x22, str_full
    tbnz    x0, #63, kv_reply
kv_set_store:
    ldr     x9, =store
    add     x9, x9, x0, lsl #7
    strb    w24, [x9, #E_KEYLEN]
    mov     x10, #0
kv_set_copy_key:
    ldrb    w11, [x23, x10]
    add     x12, x9, #E_KEY
    strb    w11, [x12, x10]
    add     x10, x10, #1
    cmp     x10, x24
    b.lo    kv_set_copy_key
    strb    w20, [x9, #E_VLEN]
    add     x13, x23, x24
    add     x13, x13, #1                    // the value, after the space
    mov     x10, #0
kv_set_copy_value:
    ldrb    w11, [x13, x10]
    add     x12, x9, #E_VALUE
    strb    w11, [x12, x10]
    add     x10, x10, #1
    cmp     x10, x20
    b.lo    kv_set_copy_value
    adr     x22, str_ok
kv_reply:
    mov     x0, x22
    bl      kv_strlen
    mov     x2, x0
    mov     x0, x19
    mov     x1, x22
    bl      toe_send
kv_request_out:
    ldp     x23, x24, [sp, #48]
    ldp     x21, x22, [sp, #32]
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #64
    ret

// kv_key_to_end: part of kv_request (x20 = line length, x21 = line). x23 = key (after the verb),
// x24 = its length, 0 if it is empty, too long or holds a space.
kv_key_to_end:
    add     x23, x21, #4
    sub     x24, x20, #4
    cmp     x24, #KEY_MAX
    b.hi    kv_key_bad
    mov     x9, #0
kv_key_scan:
    cmp     x9, x24
    b.hs    kv_key_done
    ldrb    w10, [x23, x9]
    cmp     w10, #' '
    b.eq    kv_key_bad
    add     x9, x9, #1
    b       kv_key_scan
kv_key_bad:
    mov     x24, #0
kv_key_done:
    ret

// kv_find: x23 = key, x24 = its length. x0 = the entry holding it, or -1.
kv_find:
    ldr     x9, =store
    mov     x0, #0
kv_find_entry:
    ldrb    w10, [x9, #E_KEYLEN]
    cmp     x10, x24
    b.ne    kv_find_next
    mov     x11, #0
kv_find_cmp:
    cmp     x11, x24
    b.hs    kv_find_done
    add     x12, x9, #E_KEY
    ldrb    w12, [x12, x11]
    ldrb    w13, [x23, x11]
    cmp     w12, w13
    b.ne    kv_find_next
    add     x11, x11, #1
    b       kv_find_cmp
kv_find_next:
    add     x9, x9, #ENTRY_SIZE
    add     x0, x0, #1
    cmp     x0, #ENTRIES
    b.lo    kv_find_entry
    mov     x0, #-1
kv_find_done:
    ret

// kv_free: x0 = a free entry (key length 0), or -1.
kv_free:
    ldr     x9, =store
    mov     x0, #0
kv_free_entry:
    ldrb    w10, [x9, #E_KEYLEN]
    cbz     w10, kv_free_done
    add     x9, x9, #ENTRY_SIZE
    add     x0, x0, #1
    cmp     x0, #ENTRIES
    b.lo    kv_free_entry
    mov     x0, #-1
kv_free_done:
    ret

// kv_copy_str: x1 = NUL-terminated string, x2 = destination. x2 = past the copy. Clobbers w12.
kv_copy_str:
    ldrb    w12, [x1], #1
    cbz     w12, kv_copy_str_done
    strb    w12, [x2], #1
    b       kv_copy_str
kv_copy_str_done:
    ret

// kv_strlen: x0 = NUL-terminated string. x0 = its length.
kv_strlen:
    mov     x9, x0
kv_strlen_next:
    ldrb    w10, [x9], #1
    cbnz    w10, kv_strlen_next
    sub     x0, x9, x0
    sub     x0, x0, #1
    ret

str_kv:             .asciz "kv"
fmt_listening:      .asciz "key-value service on TOE port %u, %u sessions for clients\n"
str_ok:             .asciz "OK\n"
str_value:          .asciz "VALUE "
str_not_found:      .asciz "NOT_FOUND\n"
str_deleted:        .asciz "DELETED\n"
str_full:           .asciz "ERROR full\n"
str_error:          .asciz "ERROR\n"

    .ltorg
    .balign 16
__bss_start:
.include "rtos_bss.inc"
toe_sessions:   .space 16
toe_first:      .space 16
toe_event:      .space QUEUE_SIZE
kv_tcb:         .space TCB_SIZE
kv_stack:       .space TASK_STACK_SIZE
rxbuf:          .space CHUNK
reply:          .space 128
lines:          .space TOE_SESSIONS * 256
store:          .space ENTRIES * ENTRY_SIZE
__bss_end:
