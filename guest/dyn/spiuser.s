// spiuser: the two tenants of manifests/spi_move.toml run this image. Each enables SPI 48 in its
// GIC view and pends it (GICD_ISPENDR): only its owner's writes count, and only the owner takes it.
// When the manager moves the SPI, the old owner can no longer raise it and the new one can.


.equ SPI,               48

.include "../include/dyn.inc"        // board, smccc, gic, tenant.inc and its IRQ routines
    DYN_ROUTINES spi_dispatch

main:
    DYN_START
    bl      try_spi
next:
    bl      wait_message
    cmp     x0, #HYP_MSG_SPI_TAKEN
    b.eq    taken
    cmp     x0, #HYP_MSG_SPI_GRANTED
    b.eq    granted
    b       next
taken:
    adr     x0, str_taken
    bl      puts
    bl      try_spi
    b       system_off
granted:
    adr     x0, str_granted
    bl      puts
    bl      try_spi
    b       system_off

// try_spi: enable SPI 48 in our view, pend it, open the IRQ window, and say how many came so far.
try_spi:
    stp     x29, x30, [sp, #-16]!
    mov     w0, #SPI
    mov     w1, #DYN_PRIORITY
    bl      gic_enable
    ldr     x9, =GICD_BASE
    mov     w10, #(1 << (SPI - 32))
    str     w10, [x9, #(GICD_ISPENDR + 4)]
    msr     daifclr, #2
    mov     x9, #200
try_spi_window:
    subs    x9, x9, #1
    b.ne    try_spi_window
    msr     daifset, #2
    adr     x0, str_count
    bl      puts
    ldr     x9, =spi_count
    ldr     x0, [x9]
    bl      put_dec
    bl      newline
    ldp     x29, x30, [sp], #16
    ret

// spi_dispatch: w0 = INTID. SPI 48 is counted; the others are dyn.inc's.
spi_dispatch:
    cmp     w0, #SPI
    b.ne    dyn_irq_dispatch
    ldr     x9, =spi_count
    ldr     x10, [x9]
    add     x10, x10, #1
    str     x10, [x9]
    ret

str_count:          .asciz "SPI 48 taken so far: "
str_taken:          .asciz "SPI 48 is no longer mine\n"
str_granted:        .asciz "SPI 48 is mine now\n"
    .balign 4

    EL1_VECTORS dyn_irq_entry

.include "../include/tenant_bss.inc"
spi_count:          .quad 0
