// pcie_ecam: the virt board's PCIe ECAM (PCI Express Base Specification, 7.2.2) at
// 0x40_1000_0000, read and written at EL2.
//
// Expected (QEMU virt's GPEX host bridge, hw/pci-host/gpex.c, with no other PCI device):
// the host bridge at 00:00.0 is vendor 0x1b36 (Red Hat), device 0x0008, class 0x060000 (host
// bridge), header type 0; its writable fields keep what QEMU's write masks allow. Empty
// slots and functions read all ones and ignore writes.

    .include "gic_probe.inc"

.equ ECAM_BASE,     0x4010000000

// CFG32 bdf_offset, reg, name: print a 32-bit config register.
.macro CFG32 where, reg, name
    ldr     x9, =(ECAM_BASE + \where)
    ldr     w10, [x9, #\reg]
    PRINT_XREG "\name", x10
.endm

// CFGW32 where, reg, value: write a 32-bit config register.
.macro CFGW32 where, reg, val
    ldr     x9, =(ECAM_BASE + \where)
    ldr     w10, =\val
    str     w10, [x9, #\reg]
.endm

probe_main:
    LINE    "pcie_ecam: host bridge 00:00.0 header"
    CFG32   0, 0x00, ID
    CFG32   0, 0x04, CMD_STATUS
    CFG32   0, 0x08, CLASS_REV
    CFG32   0, 0x0c, BIST_HDR_LAT_CLS
    CFG32   0, 0x10, BAR0
    CFG32   0, 0x14, BAR1
    CFG32   0, 0x18, BAR2
    CFG32   0, 0x1c, BAR3
    CFG32   0, 0x20, BAR4
    CFG32   0, 0x24, BAR5
    CFG32   0, 0x28, CARDBUS_CIS
    CFG32   0, 0x2c, SUBSYSTEM
    CFG32   0, 0x30, ROM
    CFG32   0, 0x34, CAP_PTR
    CFG32   0, 0x38, RESERVED
    CFG32   0, 0x3c, INT
    CFG32   0, 0x40, DEV_SPECIFIC
    CFG32   0, 0x100, EXTENDED

    LINE    "write masks"
    CFGW32  0, 0x00, 0xffffffff
    CFG32   0, 0x00, ID
    CFGW32  0, 0x04, 0xffffffff
    CFG32   0, 0x04, CMD_STATUS
    CFGW32  0, 0x04, 0
    CFG32   0, 0x04, CMD_STATUS
    CFGW32  0, 0x0c, 0xffffffff
    CFG32   0, 0x0c, BIST_HDR_LAT_CLS
    CFGW32  0, 0x10, 0xffffffff
    CFG32   0, 0x10, BAR0
    CFGW32  0, 0x30, 0xffffffff
    CFG32   0, 0x30, ROM
    CFGW32  0, 0x3c, 0xffffffff
    CFG32   0, 0x3c, INT
    CFGW32  0, 0x40, 0xffffffff
    CFG32   0, 0x40, DEV_SPECIFIC

    LINE    "empty slots, functions and buses"
    CFG32   0x00001000, 0x00, ID_00_00_1
    CFG32   0x00008000, 0x00, ID_00_01_0
    CFG32   0x000f8000, 0x00, ID_00_1f_0
    CFG32   0x00100000, 0x00, ID_01_00_0
    CFG32   0x0ff00000, 0x3c, INT_ff_00_0
    CFGW32  0x00008000, 0x04, 0x7
    CFG32   0x00008000, 0x04, CMD_00_01_0
    EXIT    0
