// net_echo: a TCP echo service in a tenant, on its share of the TOE (manifests/smartnic.toml).
// HYP_TOE_INFO says how many sessions it has; their pages are at TENANT_TOE_IPA, mapped by the
// hypervisor, so the data path never traps. Session 0 listens on port 7000; the others take the
// connections and echo what comes, the data moved by DMA into and out of the tenant's own RAM
// (through its SMMU stream). When a client has half-closed and all is echoed, the session is
// closed; after CLIENTS connections it says how many bytes it echoed and powers off.

.include "board.inc"
.include "smccc.inc"
.include "toe.inc"

.equ PORT,              7000
.equ CLIENTS,           2
.equ CHUNK,             0x1000

.include "include/tenant.inc"             // _start: the stack, then main

main:
    ldr     w0, =HYP_TOE_INFO
    hvc     #0
    mov     x19, x0                         // sessions
    cmp     x19, #2
    b.lo    no_sessions
    adr     x0, str_listening
    bl      puts
    ldr     x20, =TENANT_TOE_IPA            // session 0's page: the listener
    TOE_LISTEN x20, PORT
    ldr     w0, [x20, #TOE_ERROR]
    cbnz    w0, echo_failed
    .include "include/toe_echo.inc"
echo_done:
    adr     x0, str_echoed
    bl      puts
    mov     x0, x21
    bl      put_dec
    adr     x0, str_bytes
    bl      puts
    b       system_off
echo_failed:
    mov     x19, x0
    adr     x0, str_failed
    bl      puts
    mov     x0, x19
    bl      put_dec
    bl      newline
    b       system_off
no_sessions:
    adr     x0, str_no_sessions
    bl      puts
    b       system_off

str_listening:          .asciz "echo service on TOE port 7000\n"
str_echoed:             .asciz "echoed "
str_bytes:              .asciz " bytes, 2 clients served\n"
str_failed:             .asciz "TOE error "
str_no_sessions:        .asciz "no TOE sessions: nothing to serve\n"
    .balign 4

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
buffer:                 .space CHUNK
