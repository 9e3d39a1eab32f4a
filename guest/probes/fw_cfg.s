// fw_cfg: the virt board's QEMU firmware configuration device (QEMU 7.2 hw/nvram/fw_cfg.c,
// MMIO variant, docs/specs/fw_cfg.rst) at 0x09020000, driven at EL2 from RAM.
//
// Expected: the data register streams the selected item's bytes in order (a 4-byte load of
// the signature reads "QEMU"); the selector is a big-endian 16-bit register; ID has bit 1
// (DMA) set; the DMA address register reads "QEMU CFG" (big-endian); the file directory is a
// big-endian count and 64-byte entries (size, select, reserved, name), in which each file the
// board provides is found by name, with its size and its first bytes read through its select
// key (the keys and the count themselves differ: QEMU also lists its ACPI and SMBIOS blobs,
// which emu does not model); a read past an item's end reads zeros; an unknown item reads
// zeros. DMA: a read of the signature, a skip
// and read, a select-and-read of ID, a write (refused: error bit), an unknown item (zeros).

    .include "gic_probe.inc"

.equ FW_CFG,        0x09020000
.equ FW_DATA,       0x00
.equ FW_SEL,        0x08
.equ FW_DMA,        0x10
.equ SCRATCH,       PROBE_SCRATCH           // DMA control block and buffer
.equ BUF,           PROBE_SCRATCH + 0x100

// SELECT key: the selector written big-endian (a halfword store of the byte-swapped key)
.macro SELECT key
    ldr     x9, =FW_CFG
    mov     w10, #(((\key) & 0xff) << 8) | (((\key) >> 8) & 0xff)
    strh    w10, [x9, #FW_SEL]
.endm

// DMA control, length, address: run one DMA transfer with a control block at SCRATCH,
// print the control word read back (big-endian in memory: byte-swapped to print).
.macro DMA ctl, len, addr, name
    ldr     x11, =SCRATCH
    ldr     w10, =\ctl
    rev     w10, w10
    str     w10, [x11]
    ldr     w10, =\len
    rev     w10, w10
    str     w10, [x11, #4]
    ldr     x10, =\addr
    rev     x10, x10
    str     x10, [x11, #8]
    ldr     x9, =FW_CFG
    rev     x10, x11
    str     x10, [x9, #FW_DMA]
    ldr     w10, [x11]
    rev     w10, w10
    PRINT_XREG "\name", x10
.endm

// FILE "name", label: look name up in the file directory (find_file) and print whether it was
// found, its size, the directory entry's reserved field and the file's first 4 bytes.
.macro FILE name, label
    adr     x1, name_\label
    bl      find_file
    cmp     w2, #0
    cset    x10, ne
    PRINT_XREG "\label\()_found", x10
    PRINT_XREG "\label\()_size", x3
    PRINT_XREG "\label\()_reserved", x4
    cbz     w2, skip_\label
    ldr     x9, =FW_CFG
    rev16   w10, w2
    strh    w10, [x9, #FW_SEL]
    ldr     w10, [x9, #FW_DATA]
    PRINT_XREG "\label\()_data", x10
    b       skip_\label
    .balign 8
name_\label:
    .ascii  "\name"
    .zero   56                              // NUL padding: find_file compares 56 bytes
    .balign 4
skip_\label:
.endm

probe_main:
    LINE    "fw_cfg: signature, ID, DMA register"
    SELECT  0
    RD32    FW_CFG, FW_DATA, signature_le32
    RD32    FW_CFG, FW_DATA, past_end
    SELECT  0
    ldr     x9, =FW_CFG
    ldrb    w10, [x9, #FW_DATA]
    PRINT_XREG "signature_byte0", x10
    ldrh    w10, [x9, #FW_DATA]
    PRINT_XREG "signature_bytes12", x10
    SELECT  1
    RD32    FW_CFG, FW_DATA, id
    ldr     x9, =FW_CFG
    ldr     x10, [x9, #FW_DMA]
    PRINT_XREG "dma_register", x10
    SELECT  0x7fff
    RD32    FW_CFG, FW_DATA, unknown_item
    SELECT  0
    ldr     x9, =FW_CFG
    ldr     x10, [x9, #FW_DATA]
    PRINT_XREG "signature_le64", x10

    LINE    "numbered items: UUID, NOGRAPHIC, NB_CPUS, BOOT_MENU"
    SELECT  2
    ldr     x9, =FW_CFG
    ldr     x10, [x9, #FW_DATA]
    PRINT_XREG "uuid_lo", x10
    ldr     x10, [x9, #FW_DATA]
    PRINT_XREG "uuid_hi", x10
    SELECT  4
    RD32    FW_CFG, FW_DATA, nographic
    SELECT  5
    RD32    FW_CFG, FW_DATA, nb_cpus
    SELECT  0xe
    RD32    FW_CFG, FW_DATA, boot_menu

    LINE    "file directory: the board's files by name"
    FILE    "bios-geometry", bios_geometry
    FILE    "bootorder", bootorder
    FILE    "etc/boot-fail-wait", boot_fail_wait
    FILE    "no/such/file", no_such_file

    LINE    "DMA"
    ldr     x9, =BUF
    str     xzr, [x9]
    DMA     0x00000008, 4, BUF, ctl_select_0_no_read
    DMA     0x0000000a, 4, BUF, ctl_select_read_signature
    ldr     x9, =BUF
    ldr     w10, [x9]
    PRINT_XREG "dma_signature", x10
    DMA     0x0001000a, 4, BUF, ctl_select_read_id
    ldr     x9, =BUF
    ldr     w10, [x9]
    PRINT_XREG "dma_id", x10
    DMA     0x00000008, 0, BUF, ctl_select_0
    DMA     0x00000004, 2, BUF, ctl_skip_2
    DMA     0x00000002, 4, BUF, ctl_read_after_skip
    ldr     x9, =BUF
    ldr     w10, [x9]
    PRINT_XREG "dma_after_skip", x10
    DMA     0x00000002, 4, BUF, ctl_read_past_end
    ldr     x9, =BUF
    ldr     w10, [x9]
    PRINT_XREG "dma_past_end", x10
    DMA     0x00000018, 4, BUF, ctl_select_write
    DMA     0x7fff000a, 4, BUF, ctl_read_unknown
    ldr     x9, =BUF
    ldr     w10, [x9]
    PRINT_XREG "dma_unknown", x10
    LINE    "DMA in two halves"
    ldr     x11, =SCRATCH
    ldr     w10, =0x0000000a
    rev     w10, w10
    str     w10, [x11]
    mov     w10, #4
    rev     w10, w10
    str     w10, [x11, #4]
    ldr     x10, =BUF
    rev     x10, x10
    str     x10, [x11, #8]
    str     wzr, [x11, #0x100]
    ldr     x9, =FW_CFG
    str     wzr, [x9, #FW_DMA]              // high half: 0
    rev     w10, w11
    str     w10, [x9, #FW_DMA + 4]          // low half: starts the transfer
    ldr     w10, [x11]
    PRINT_XREG "ctl_halves", x10
    ldr     x9, =BUF
    ldr     w10, [x9]
    PRINT_XREG "dma_halves_signature", x10
    EXIT    0

// find_file: x1 = a 56-byte name (NUL padded). Returns w2 = its select key (0: not found),
// w3 = its size, w4 = the entry's reserved field. Clobbers x5-x10.
find_file:
    ldr     x9, =FW_CFG
    mov     w10, #0x1900                    // FW_CFG_FILE_DIR, big-endian
    strh    w10, [x9, #FW_SEL]
    ldr     w5, [x9, #FW_DATA]
    rev     w5, w5                          // count
    mov     w2, #0
    mov     w3, #0
    mov     w4, #0
find_next:
    cbz     w5, find_done
    sub     w5, w5, #1
    ldr     w6, [x9, #FW_DATA]
    rev     w6, w6                          // size
    ldr     w7, [x9, #FW_DATA]
    rev     w7, w7                          // select << 16 | reserved
    mov     x8, #0                          // name bytes compared so far
    mov     w10, #0                         // mismatch seen
find_name:
    ldr     x0, [x9, #FW_DATA]
    ldr     x11, [x1, x8]
    cmp     x0, x11
    csinc   w10, w10, w10, eq
    add     x8, x8, #8
    cmp     x8, #56
    b.ne    find_name
    cbnz    w10, find_next
    lsr     w2, w7, #16
    mov     w3, w6
    and     w4, w7, #0xffff
find_done:
    ret
