// irq_victim: owns SPI 48 (manifest irqs = [48]). It enables it through its GICD view, which the
// hypervisor turns into the real distributor's enable; pends it itself (GICD_ISPENDR), takes it
// as a hardware interrupt forwarded by the hypervisor, yields to the attacker, then checks that
// its SPI is still enabled, that nothing else was delivered, and that it still works.

.include "board.inc"
.include "smccc.inc"
.include "gic.inc"

.equ VICTIM_SPI,        48
.equ SPI_PRIORITY,      0x90
.equ SPI_WORD,          (VICTIM_SPI / 32)
.equ SPI_BIT,           (1 << (VICTIM_SPI % 32))

.include "include/tenant.inc"             // _start: the stack, then main
    TENANT_IRQ_ROUTINES

main:
    EL1_IRQ_SETUP VICTIM_SPI, SPI_PRIORITY
    msr     daifclr, #2
    adr     x0, str_enabled
    bl      puts
    bl      report_view

    mov     x19, #1
    bl      pend_and_wait
    adr     x0, str_yield
    bl      puts
    bl      yield

    adr     x0, str_back
    bl      puts
    ldr     x9, =spi_count
    ldr     x0, [x9]
    bl      put_dec
    bl      newline
    bl      report_view
    mov     x19, #2
    bl      pend_and_wait
    ldr     x9, =other_count
    ldr     x0, [x9]
    cbz     x0, victim_done
    adr     x0, str_other
    bl      puts
victim_done:
    adr     x0, str_bye
    bl      puts
    b       system_off

// pend_and_wait: x19 = the count to reach. Pends SPI 48 through GICD_ISPENDR and waits for it.
pend_and_wait:
    mov     x20, x30
    ldr     x9, =GICD_BASE + GICD_ISPENDR + 4 * SPI_WORD
    ldr     x10, =SPI_BIT
    str     w10, [x9]
pend_wait:
    msr     daifset, #2
    ldr     x9, =spi_count
    ldr     x9, [x9]
    cmp     x9, x19
    b.hs    pend_taken
    wfi
    msr     daifclr, #2
    b       pend_wait
pend_taken:
    msr     daifclr, #2
    adr     x0, str_taken
    bl      puts
    ldr     x9, =spi_count
    ldr     x0, [x9]
    bl      put_dec
    bl      newline
    ret     x20

// report_view: "my GICD_ISENABLER1 0x..., GICD_ITARGETSR byte 0x..., priority 0x..."
report_view:
    mov     x21, x30
    adr     x0, str_view_enable
    bl      puts
    ldr     x9, =GICD_BASE + GICD_ISENABLER + 4 * SPI_WORD
    ldr     w0, [x9]
    bl      put_hex
    adr     x0, str_view_priority
    bl      puts
    ldr     x9, =GICD_BASE + GICD_IPRIORITYR + VICTIM_SPI
    ldrb    w0, [x9]
    bl      put_hex
    bl      newline
    ret     x21

irq_dispatch:
    cmp     w0, #VICTIM_SPI
    b.ne    irq_dispatch_other
    ldr     x9, =spi_count
    b       irq_dispatch_count
irq_dispatch_other:
    ldr     x9, =other_count
irq_dispatch_count:
    ldr     x10, [x9]
    add     x10, x10, #1
    str     x10, [x9]
    ret

    EL1_IRQ_ENTRY irq_entry, irq_dispatch

str_enabled:            .asciz "SPI 48 enabled through my GICD view\n"
str_view_enable:        .asciz "my GICD_ISENABLER1 "
str_view_priority:      .asciz ", SPI 48 priority "
str_taken:              .asciz "SPI 48 taken, count "
str_yield:              .asciz "yielding to the other tenant\n"
str_back:               .asciz "back after the attack, SPI 48 count still "
str_other:              .asciz "BREACH: an interrupt I did not pend\n"
str_bye:                .asciz "powering off\n"
    .balign 4

    EL1_VECTORS irq_entry

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
spi_count:              .quad 0
other_count:            .quad 0
