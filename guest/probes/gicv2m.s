// gicv2m: the virt board's GICv2m MSI frame at 0x08020000 (Arm DEN 0029, GICv2m appendix),
// read and written at EL2 with interrupts masked.
//
// Expected (QEMU virt's hw/intc/arm_gicv2m.c): MSI_TYPER 0x00500040 (the frame owns INTIDs
// 80-143), MSI_IIDR 0x05100000 (ProductID 'Q'), MSI_PIDR2 0. A write of an INTID to
// MSI_SETSPI_NS (word or halfword) makes that SPI pending when the distributor has it
// edge-triggered, as Linux configures MSIs; INTID 79, outside the frame, is ignored.

    .include "gic_probe.inc"

.equ V2M_BASE,          0x08020000
.equ MSI_TYPER,         0x008
.equ MSI_SETSPI_NS,     0x040
.equ MSI_IIDR,          0xfcc
.equ MSI_PIDR2,         0xfe8
.equ SPI_79_TO_82,      (0xf << 15)     // INTIDs 79-82 in GICD_ISPENDR2

// Print GICD_ISPENDR2 masked to INTIDs 79-82: the others are not this probe's business.
.macro PENDING_79_82
    ldr     x9, =GICD_BASE
    ldr     w10, [x9, #(GICD_ISPENDR + 8)]
    and     w10, w10, #SPI_79_TO_82
    PRINT_XREG "GICD_ISPENDR2_79_82", x10
.endm

probe_main:
    LINE    "gicv2m: identification, MSI_SETSPI_NS into the distributor"
    RD32    V2M_BASE, MSI_TYPER, MSI_TYPER
    RD32    V2M_BASE, MSI_IIDR, MSI_IIDR
    RD32    V2M_BASE, MSI_PIDR2, MSI_PIDR2

    LINE    "INTIDs 80 and 82 edge-triggered, 81 level-sensitive and disabled"
    WR32    GICD_BASE, (GICD_ICFGR + 20), 0x00000022
    RD32    GICD_BASE, (GICD_ICFGR + 20), GICD_ICFGR5
    PENDING_79_82
    WR32    V2M_BASE, MSI_SETSPI_NS, 80
    PENDING_79_82
    WR32    V2M_BASE, MSI_SETSPI_NS, 81
    PENDING_79_82
    ldr     x9, =V2M_BASE
    mov     w10, #82
    strh    w10, [x9, #MSI_SETSPI_NS]
    PENDING_79_82
    WR32    V2M_BASE, MSI_SETSPI_NS, 79
    PENDING_79_82
    WR32    GICD_BASE, (GICD_ICPENDR + 8), SPI_79_TO_82
    PENDING_79_82
    WR32    GICD_BASE, (GICD_ICFGR + 20), 0
    EXIT    0
