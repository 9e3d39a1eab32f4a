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
    TOE_LISTEN x20, PORT
    ldr     w0, [x20, #TOE_ERROR]
    cbnz    w0, echo_failed
    mov     x19, #4                         // sessions 0-3
    .include "../include/toe_echo.inc"
echo_done:
    PRINT_XREG "echoed", x21
    EXIT    0
echo_failed:
    PRINT_XREG "toe_error", x0
    EXIT    1

    .ltorg
    .balign 16
buffer:
    .space CHUNK
