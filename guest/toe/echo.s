// echo: a bare-metal TCP echo server on the TOE, at EL2 with physical DMA (no hypervisor; the
// SMMU that comes with the TOE set to let transfers through untranslated, as firmware that does
// not use it does): `emu run build/toe_echo.elf --toe hostfwd=tcp::17000-:7000`. It gives itself
// sessions 0-3 in the management page, listens on port 7000 with session 0, and echoes what
// each connection sends. When a client has half-closed and everything is echoed back, it closes
// the session; after CLIENTS connections it prints how many bytes it echoed and exits 0.

    .include "../probes/probe.inc"
    .include "toe.inc"
    .include "smmu.inc"

.equ SMMU_GBPA,         0x44
.equ SMMU_GBPA_UPDATE,  (1 << 31)           // ABORT clear: bypass while SMMUEN is clear

.equ OWNER,             1
.equ PORT,              7000
.equ CLIENTS,           1
.equ CHUNK,             0x1000

probe_main:
    LINE    "toe: echo server on port 7000"
    ldr     x9, =SMMU_BASE
    ldr     w10, =SMMU_GBPA_UPDATE
    str     w10, [x9, #SMMU_GBPA]
    ldr     x19, =TOE_BASE
    mov     w9, #OWNER
    str     w9, [x19, #TOE_S_OWNER]
    str     w9, [x19, #(TOE_S_OWNER + 16)]
    str     w9, [x19, #(TOE_S_OWNER + 32)]
    str     w9, [x19, #(TOE_S_OWNER + 48)]
    mov     w9, #PORT
    str     w9, [x19, #TOE_T_LISTEN]
    mov     w9, #4
    str     w9, [x19, #TOE_T_QUOTA]
    mov     w9, #1
    str     w9, [x19, #TOE_CTRL]
    add     x20, x19, #0x1000               // session 0's page
    mov     w9, #PORT
    str     w9, [x20, #TOE_ARG0]
    mov     w9, #TOE_CMD_LISTEN
    str     w9, [x20, #TOE_CMD]
    ldr     w0, [x20, #TOE_ERROR]
    cbnz    w0, fail
    mov     x21, #0                         // bytes echoed
    mov     x22, #0                         // connections done
serve:
    mov     x23, #1                         // sessions 1-3
serve_session:
    add     x24, x19, x23, lsl #12
    add     x24, x24, #0x1000               // its page
    ldr     w9, [x24, #TOE_STATE]
    cmp     w9, #TOE_STATE_ESTABLISHED
    b.eq    serve_data
    cmp     w9, #TOE_STATE_PEER_CLOSED
    b.ne    serve_next
serve_data:
    ldr     w10, [x24, #TOE_RX_AVAIL]
    cbnz    w10, serve_rx
    cmp     w9, #TOE_STATE_PEER_CLOSED
    b.ne    serve_next
    ldr     w10, [x24, #TOE_TX_SPACE]       // the client is done: close once all went out
    cmp     w10, #TOE_BUFFER
    b.ne    serve_next
    mov     w10, #TOE_CMD_CLOSE
    str     w10, [x24, #TOE_CMD]
    add     x22, x22, #1
    cmp     x22, #CLIENTS
    b.hs    done
    b       serve_next
serve_rx:
    ldr     x25, =buffer
    str     x25, [x24, #TOE_RX_ADDR]
    mov     w10, #CHUNK
    str     w10, [x24, #TOE_RX_LEN]
    mov     w10, #TOE_CMD_RX
    str     w10, [x24, #TOE_CMD]
    ldr     w0, [x24, #TOE_ERROR]
    cbnz    w0, fail
    ldr     w26, [x24, #TOE_RX_DONE]        // bytes to send back
    add     x21, x21, x26
serve_tx:
    cbz     w26, serve_next
    str     x25, [x24, #TOE_TX_ADDR]
    str     w26, [x24, #TOE_TX_LEN]
    mov     w10, #TOE_CMD_TX
    str     w10, [x24, #TOE_CMD]
    ldr     w10, [x24, #TOE_TX_DONE]        // 0 while the buffer is full: try again
    add     x25, x25, x10
    sub     w26, w26, w10
    b       serve_tx
serve_next:
    add     x23, x23, #1
    cmp     x23, #4
    b.lo    serve_session
    b       serve
done:
    PRINT_XREG "echoed", x21
    EXIT    0
fail:
    PRINT_XREG "toe_error", x0
    EXIT    1

    .ltorg
    .balign 16
buffer:
    .space CHUNK
