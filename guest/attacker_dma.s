// attacker_dma: a tenant that listens on its TOE port 7001, takes a connection, and aims the RX
// descriptor at IPA 0x41000000, outside its partition (where tenant 0's RAM is in physical
// memory). The DMA goes through the tenant's SMMU stream, whose tables are its own stage 2:
// the SMMU refuses it, nothing is written, and the hypervisor contains the tenant.

.include "board.inc"
.include "smccc.inc"
.include "toe.inc"

.equ PORT,              7001
.equ OUTSIDE,           0x41000000

.include "include/tenant.inc"             // _start: the stack, then main

main:
    ldr     x20, =TENANT_TOE_IPA
    TOE_LISTEN x20, PORT
    adr     x0, str_listening
    bl      puts
    add     x24, x20, #0x1000               // session 1 takes the connection
wait_data:
    ldr     w9, [x24, #TOE_RX_AVAIL]
    cbz     w9, wait_data
    adr     x0, str_aiming
    bl      puts
    ldr     x9, =OUTSIDE
    str     x9, [x24, #TOE_RX_ADDR]
    mov     w9, #0x100
    str     w9, [x24, #TOE_RX_LEN]
    mov     w9, #TOE_CMD_RX
    str     w9, [x24, #TOE_CMD]
    // The hypervisor takes the SMMU's event as an interrupt and stops this tenant; it never
    // runs past the next instructions.
spin:
    b       spin

str_listening:          .asciz "listening on TOE port 7001\n"
str_aiming:             .asciz "RX descriptor at IPA 0x41000000, outside my RAM\n"
    .balign 4

.include "include/tenant_bss.inc"
