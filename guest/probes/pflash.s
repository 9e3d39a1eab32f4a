// pflash: the virt board's CFI flash (QEMU 7.2 hw/block/pflash_cfi01.c, as hw/arm/virt.c
// configures it: two 64 MiB banks at 0x0 and 0x04000000, 256 KiB sectors, 32 bits wide of two
// x16 devices, Intel command set), driven at EL2 from RAM.
//
// Expected: read array shows the bank's contents (zeros: nothing loaded); the CFI query
// table (0x98) answers each word with one device's byte in both 16-bit halves ("QRY" at
// 0x10-0x12, the geometry of a 32 MiB x16 device with 256 blocks of 128 KiB); read
// identifier (0x90) gives 0x89 and 0x18; an unknown command returns to read array; the status
// register reads 0x80 (ready) from reset; a word
// program and a block erase leave the status register (0x80 ready, in both halves) readable
// until 0xFF, and the array then holds what was programmed, and ones where erased; clear
// status (0x50) zeroes the status. Bank 1 is used for the writes, as QEMU's has no drive
// behind it and nothing runs from it.

    .include "gic_probe.inc"

.equ BANK0,     0x00000000
.equ BANK1,     0x04000000

probe_main:
    LINE    "pflash: read array, CFI query, identifier"
    RD32    BANK1, 0x40, array_0x40
    WR32    BANK1, 0x154, 0x98
    ldr     x11, =BANK1
    mov     x12, #0
cfi_loop:                                   // the whole table and a word past it
    ldr     w10, [x11, x12, lsl #2]
    PRINT_XREG "cfi", x10
    add     x12, x12, #1
    cmp     x12, #0x54
    b.ne    cfi_loop
    ldr     x9, =BANK1
    ldrh    w10, [x9, #0x40]
    PRINT_XREG "cfi_0x10_halfword", x10
    ldrb    w10, [x9, #0x41]
    PRINT_XREG "cfi_0x41_byte", x10
    ldr     x10, [x9, #0x40]
    PRINT_XREG "cfi_0x10_doubleword", x10
    WR32    BANK1, 0x40, 0x12               // not read array: still in query mode
    RD32    BANK1, 0x44, cfi_0x11_after_other_write
    WR32    BANK1, 0, 0xff
    RD32    BANK1, 0x40, array_0x40
    WR32    BANK0, 0, 0x98                  // bank 0 answers the same
    RD32    BANK0, 0x48, bank0_cfi_0x12
    RD32    BANK1, 0x48, bank1_array_0x48
    WR32    BANK0, 0, 0xff
    WR32    BANK1, 0, 0x90
    RD32    BANK1, 0, id_manufacturer
    RD32    BANK1, 4, id_device
    RD32    BANK1, 8, id_2
    WR32    BANK1, 0, 0xff

    LINE    "unknown command, read status"
    WR32    BANK1, 0x1008, 0x1234
    RD32    BANK1, 0x1008, array_after_unknown
    WR32    BANK1, 0, 0x70
    RD32    BANK1, 0, status
    WR32    BANK1, 0, 0xff

    LINE    "word program"
    WR32    BANK1, 0x100, 0x40
    WR32    BANK1, 0x100, 0xcafef00d
    RD32    BANK1, 0x100, status_after_program
    ldr     x9, =BANK1
    ldrh    w10, [x9, #0x100]
    PRINT_XREG "status_halfword", x10
    WR32    BANK1, 0, 0xff
    RD32    BANK1, 0x100, array_0x100

    LINE    "block erase"
    WR32    BANK1, 0x80, 0x20
    WR32    BANK1, 0x80, 0xd0
    RD32    BANK1, 0, status_after_erase
    WR32    BANK1, 0, 0x50
    RD32    BANK1, 0x100, array_0x100
    ldr     x9, =BANK1 + 0x3fffc
    ldr     w10, [x9]
    PRINT_XREG "array_sector_end", x10
    ldr     x9, =BANK1 + 0x40000
    ldr     w10, [x9]
    PRINT_XREG "array_next_sector", x10
    WR32    BANK1, 0, 0x70
    RD32    BANK1, 0, status_after_clear
    WR32    BANK1, 0, 0xff
    EXIT    0
