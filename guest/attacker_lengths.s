// attacker_lengths: a tenant that reuses a session it closed and then sends with a huge length.
// It listens on its TOE port 7001. From the first connection it closes the session and asks it
// for data again: nothing of the old connection may come back. On the second it sends with
// TX_LEN 0xffffffff from the last page of its RAM: the TOE takes what its buffer can hold, 64 KiB,
// which runs past the partition's end; the SMMU refuses the whole read, nothing is sent, and the
// hypervisor contains the tenant.

.include "board.inc"
.include "smccc.inc"
.include "toe.inc"

.equ PORT,              7001
.equ LAST_PAGE,         0x401ff000          // the last 4 KiB of its 2 MiB at IPA 0x40000000
.equ HUGE,              0xffffffff

.include "include/tenant.inc"             // _start: the stack, then main

main:
    ldr     x20, =TENANT_TOE_IPA
    TOE_LISTEN x20, PORT
    adr     x0, str_listening
    bl      puts
    bl      wait_data                       // x21 = the page of a session with data
    mov     w9, #TOE_CMD_CLOSE
    str     w9, [x21, #TOE_CMD]
    ldr     x9, =buffer
    str     x9, [x21, #TOE_RX_ADDR]
    mov     w9, #0x100
    str     w9, [x21, #TOE_RX_LEN]
    mov     w9, #TOE_CMD_RX
    str     w9, [x21, #TOE_CMD]
    adr     x0, str_reused
    bl      puts
    ldr     w0, [x21, #TOE_RX_DONE]
    bl      put_dec
    adr     x0, str_error
    bl      puts
    ldr     w0, [x21, #TOE_ERROR]
    bl      put_dec
    bl      newline
    bl      wait_data                       // the second connection
    adr     x0, str_huge
    bl      puts
    ldr     x9, =LAST_PAGE
    str     x9, [x21, #TOE_TX_ADDR]
    ldr     w9, =HUGE
    str     w9, [x21, #TOE_TX_LEN]
    mov     w9, #TOE_CMD_TX
    str     w9, [x21, #TOE_CMD]
spin:                                       // the hypervisor stops it on the SMMU's event
    b       spin

// wait_data: x21 = the page of the first session (1 or 2) with bytes to read.
wait_data:
    add     x21, x20, #0x1000
    ldr     w9, [x21, #TOE_RX_AVAIL]
    cbnz    w9, wait_data_done
    add     x21, x20, #0x2000
    ldr     w9, [x21, #TOE_RX_AVAIL]
    cbz     w9, wait_data
wait_data_done:
    ret

str_listening:          .asciz "listening on TOE port 7001\n"
str_reused:             .asciz "closed a session and read it again: "
str_error:              .asciz " bytes, error "
str_huge:               .asciz "sending with TX_LEN 0xffffffff from the last page of my RAM\n"
    .balign 4

.include "include/tenant_bss.inc"
buffer:                 .space 0x100
