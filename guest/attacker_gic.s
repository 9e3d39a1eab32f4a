// attacker_gic: programs its GICD view against interrupts it does not own: the victim's SPI 48
// and the UART's SPI 33, which nobody owns. Every such write must be ignored and reported by the
// hypervisor, and every read of them must return 0. Then it turns off its own view's distributor
// (its business only) and finally reaches for GICH, the hypervisor's virtual interface control,
// which its stage 2 does not map: it is contained there.

.include "board.inc"
.include "smccc.inc"
.include "gic.inc"

.equ VICTIM_SPI,        48
.equ UART_SPI,          INTID_UART0
.equ VICTIM_BIT,        (1 << (VICTIM_SPI % 32))
.equ UART_BIT,          (1 << (UART_SPI % 32))
.equ SPI_WORD_OFFSET,   4                   // word 1 of each bit register: INTIDs 32-63

.include "include/tenant.inc"             // _start: the stack, then main

main:
    adr     x0, str_reads
    bl      puts
    ldr     x19, =GICD_BASE
    ldr     w0, [x19, #GICD_ISENABLER + SPI_WORD_OFFSET]
    bl      put_hex
    adr     x0, str_prio
    bl      puts
    ldrb    w0, [x19, #GICD_IPRIORITYR + VICTIM_SPI]
    bl      put_hex
    bl      newline

    adr     x0, str_writes
    bl      puts
    ldr     x20, =VICTIM_BIT
    str     w20, [x19, #GICD_ICENABLER + SPI_WORD_OFFSET]   // disable the victim's SPI
    str     w20, [x19, #GICD_ISPENDR + SPI_WORD_OFFSET]     // raise it
    str     w20, [x19, #GICD_ICACTIVER + SPI_WORD_OFFSET]   // end it under the victim
    mov     w0, #0x10
    strb    w0, [x19, #GICD_IPRIORITYR + VICTIM_SPI]        // reorder it
    ldr     x20, =UART_BIT
    str     w20, [x19, #GICD_ISENABLER + SPI_WORD_OFFSET]   // the UART's SPI, nobody's
    str     wzr, [x19, #GICD_CTLR]                          // its own view: allowed, silent

    adr     x0, str_reach
    bl      puts
    ldr     x1, =GICH_BASE
    str     wzr, [x1, #GICH_HCR]            // stage-2 translation fault: contained here
    adr     x0, str_breach
    bl      puts
    b       system_off

str_reads:              .asciz "reading the victim's SPI 48 in my GICD view: ISENABLER1 "
str_prio:               .asciz ", priority "
str_writes:             .asciz "disabling, pending, deactivating and reprioritising SPI 48; enabling the UART's SPI 33\n"
str_reach:              .asciz "reaching for GICH at 0x08030000\n"
str_breach:             .asciz "BREACH: wrote the hypervisor's virtual interface control\n"

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
