// spimover: the manager of manifests/spi_move.toml. It moves SPI 48 from "first" to "second".


.include "../include/dyn.inc"        // board, smccc, gic, tenant.inc and its IRQ routines
    DYN_ROUTINES

main:
    DYN_START
    mov     x0, #3
    bl      sleep_ms
    ldr     w0, =HYP_SPI_MOVE
    mov     x1, #48
    mov     x2, #2                          // second
    hvc     #0
    mov     x19, x0
    ldr     w0, =HYP_SPI_MOVE               // the UART's: not a tenant's to move
    mov     x1, #33
    mov     x2, #2
    hvc     #0
    mov     x20, x0
    adr     x0, str_moved
    bl      puts
    mov     x0, x19
    bl      put_signed
    adr     x0, str_uart
    bl      puts
    mov     x0, x20
    bl      put_signed
    bl      newline
    mov     x0, #3
    bl      sleep_ms
    ldr     w0, =HYP_PART_INFO
    mov     x1, #2
    hvc     #0
    mov     x19, x3
    adr     x0, str_spis
    bl      puts
    mov     x0, x19
    bl      put_hex
    bl      newline
    b       system_off

str_moved:          .asciz "move SPI 48 to tenant 2: "
str_uart:           .asciz ", move SPI 33: "
str_spis:           .asciz "tenant 2's SPIs: "
    .balign 4

    EL1_VECTORS dyn_irq_entry

.include "../include/tenant_bss.inc"
