// pl061: the virt board's GPIO controller (Arm DDI 0190) at 0x09030000, SPI 39, read back at
// EL2 with interrupts masked.
//
// Expected (QEMU virt's hw/gpio/pl061.c, no pin driven from outside): PeriphID 0x61 0x10 0x04
// 0x00, PCellID 0x0d 0xf0 0x05 0xb1; control registers keep 8 bits. GPIODATA masks by address
// bits [9:2] on reads and writes, and a write changes output pins only. A level-sensitive pin
// latches GPIORIS while at its active level (GPIOIC does not clear it then); GPIOIE gates
// GPIOMIS and the level on SPI 39 (GICD_ISPENDR1 bit 7). An output pin turned into an input
// with a different data bit counts as an edge.

    .include "primecell_probe.inc"

.equ GPIO_BASE,     0x09030000
.equ GPIODIR,       0x400
.equ GPIOIS,        0x404
.equ GPIOIBE,       0x408
.equ GPIOIEV,       0x40c
.equ GPIOIE,        0x410
.equ GPIORIS,       0x414
.equ GPIOMIS,       0x418
.equ GPIOIC,        0x41c
.equ GPIOAFSEL,     0x420

probe_main:
    LINE    "pl061: identification, address-masked data, interrupts on SPI 39"
    PRIMECELL_IDS GPIO_BASE
    RD32    GPIO_BASE, GPIODIR, GPIODIR
    RD32    GPIO_BASE, GPIORIS, GPIORIS
    RD32    GPIO_BASE, 0x3fc, GPIODATA
    WR32    GPIO_BASE, GPIOAFSEL, 0xffffffff
    RD32    GPIO_BASE, GPIOAFSEL, GPIOAFSEL
    WR32    GPIO_BASE, GPIOAFSEL, 0

    LINE    "data masking"
    WR32    GPIO_BASE, GPIODIR, 0xffffff0f
    RD32    GPIO_BASE, GPIODIR, GPIODIR
    WR32    GPIO_BASE, 0x3fc, 0xff
    RD32    GPIO_BASE, 0x3fc, GPIODATA
    WR32    GPIO_BASE, 0x014, 0                 // mask 0x05: pins 0 and 2
    RD32    GPIO_BASE, 0x3fc, GPIODATA
    RD32    GPIO_BASE, 0x00c, GPIODATA_mask3
    WR8     GPIO_BASE, 0x010, 0xff              // mask 0x04, a byte store as Linux does
    ldr     x9, =GPIO_BASE
    ldrb    w10, [x9, #0x03c]                   // mask 0x0f, a byte load
    PRINT_XREG "GPIODATA_mask15", x10

    LINE    "level interrupt on pin 4 (input, low)"
    WR32    GPIO_BASE, GPIOIS, 0x10
    RD32    GPIO_BASE, GPIORIS, GPIORIS
    RD32    GPIO_BASE, GPIOMIS, GPIOMIS
    SPI_PENDING 39, GICD_ISPENDR1_39
    WR32    GPIO_BASE, GPIOIE, 0x10
    RD32    GPIO_BASE, GPIOMIS, GPIOMIS
    SPI_PENDING 39, GICD_ISPENDR1_39
    WR32    GPIO_BASE, GPIOIC, 0x10
    RD32    GPIO_BASE, GPIORIS, GPIORIS
    WR32    GPIO_BASE, GPIOIEV, 0x10
    WR32    GPIO_BASE, GPIOIC, 0x10
    RD32    GPIO_BASE, GPIORIS, GPIORIS
    SPI_PENDING 39, GICD_ISPENDR1_39
    WR32    GPIO_BASE, GPIOIS, 0
    WR32    GPIO_BASE, GPIOIE, 0

    LINE    "output pin 5 turned input: a rising edge"
    WR32    GPIO_BASE, GPIOIEV, 0x20
    WR32    GPIO_BASE, GPIODIR, 0x20
    WR32    GPIO_BASE, 0x080, 0x20
    RD32    GPIO_BASE, GPIORIS, GPIORIS
    WR32    GPIO_BASE, GPIODIR, 0
    RD32    GPIO_BASE, GPIORIS, GPIORIS
    RD32    GPIO_BASE, 0x3fc, GPIODATA
    WR32    GPIO_BASE, GPIOIC, 0xff
    RD32    GPIO_BASE, GPIORIS, GPIORIS
    WR32    GPIO_BASE, GPIOIEV, 0
    EXIT    0
