// gic_enable: distributor identification and the enable registers (Arm IHI 0048B 4.3.2,
// 4.3.5, 4.3.6), read back at EL2 with the CPU interface never acknowledging anything.
//
// Expected (QEMU virt, one CPU, 288 INTIDs, no Security Extensions):
//   GICD_TYPER = 0x8 (ITLinesNumber 8, CPUNumber 0, SecurityExtn 0), GICD_IIDR = 0x43b,
//   GICD_PIDR2 = 0x2b (ArchRev 2).
//   GICD_ISENABLER0 = 0xffff: SGIs are always enabled, and stay so through ICENABLER0;
//   the PPI bits set and clear.
//   GICD_ISENABLER1 and ICENABLER1 read the same SPI enable bits.
//   GICD_ISENABLER8 covers INTIDs 256-287 (implemented); ISENABLER9 is RAZ/WI.
//   GICD_IGROUPR0 is read/write (no Security Extensions); GICD_ICFGR0 (SGIs) reads
//   0xaaaaaaaa (edge) and ignores writes; ICFGR2 stores only Int_config[1] of each field.
//   GICD_ITARGETSRn are RAZ/WI on a uniprocessor (4.3.12).
//   An enable bit gates forwarding: pending SPI 40 shows in GICC_HPPIR only while enabled.

    .include "probe.inc"
    .include "gic.inc"

// RD32 base, offset, name: print `name=0x<value of the 32-bit register>`.
.macro RD32 base, off, name
    ldr     x9, =\base
    ldr     w10, [x9, #\off]
    PRINT_XREG "\name", x10
.endm

// WR32 base, offset, value
.macro WR32 base, off, val
    ldr     x9, =\base
    ldr     w10, =\val
    str     w10, [x9, #\off]
.endm

probe_main:
    LINE    "gic_enable: identification, ISENABLER/ICENABLER, IGROUPR, ICFGR, ITARGETSR"
    RD32    GICD_BASE, GICD_TYPER, GICD_TYPER
    RD32    GICD_BASE, GICD_IIDR, GICD_IIDR
    RD32    GICD_BASE, 0xfe8, GICD_PIDR2
    RD32    GICD_BASE, GICD_CTLR, GICD_CTLR

    LINE    "SGI and PPI enables (word 0)"
    RD32    GICD_BASE, GICD_ISENABLER, GICD_ISENABLER0
    WR32    GICD_BASE, GICD_ICENABLER, 0xffffffff
    RD32    GICD_BASE, GICD_ISENABLER, GICD_ISENABLER0
    WR32    GICD_BASE, GICD_ISENABLER, 0x0a000000
    RD32    GICD_BASE, GICD_ISENABLER, GICD_ISENABLER0
    WR32    GICD_BASE, GICD_ICENABLER, 0x02000000
    RD32    GICD_BASE, GICD_ICENABLER, GICD_ICENABLER0

    LINE    "SPI enables"
    WR32    GICD_BASE, GICD_ISENABLER+4, 0x00000f00
    WR32    GICD_BASE, GICD_ISENABLER+4, 0x00010000
    RD32    GICD_BASE, GICD_ISENABLER+4, GICD_ISENABLER1
    RD32    GICD_BASE, GICD_ICENABLER+4, GICD_ICENABLER1
    WR32    GICD_BASE, GICD_ICENABLER+4, 0x00000300
    RD32    GICD_BASE, GICD_ISENABLER+4, GICD_ISENABLER1
    WR32    GICD_BASE, GICD_ISENABLER+32, 0xffffffff
    RD32    GICD_BASE, GICD_ISENABLER+32, GICD_ISENABLER8
    WR32    GICD_BASE, GICD_ISENABLER+36, 0xffffffff
    RD32    GICD_BASE, GICD_ISENABLER+36, GICD_ISENABLER9
    WR32    GICD_BASE, GICD_ICENABLER+4, 0xffffffff
    WR32    GICD_BASE, GICD_ICENABLER+32, 0xffffffff
    RD32    GICD_BASE, GICD_ISENABLER+4, GICD_ISENABLER1
    RD32    GICD_BASE, GICD_ISENABLER+32, GICD_ISENABLER8

    LINE    "groups, configuration, targets"
    RD32    GICD_BASE, GICD_IGROUPR, GICD_IGROUPR0
    WR32    GICD_BASE, GICD_IGROUPR, 0xffff00ff
    RD32    GICD_BASE, GICD_IGROUPR, GICD_IGROUPR0
    WR32    GICD_BASE, GICD_IGROUPR, 0
    RD32    GICD_BASE, GICD_ICFGR, GICD_ICFGR0
    WR32    GICD_BASE, GICD_ICFGR, 0
    RD32    GICD_BASE, GICD_ICFGR, GICD_ICFGR0
    RD32    GICD_BASE, GICD_ICFGR+4, GICD_ICFGR1
    WR32    GICD_BASE, GICD_ICFGR+8, 0xffffffff
    RD32    GICD_BASE, GICD_ICFGR+8, GICD_ICFGR2
    WR32    GICD_BASE, GICD_ICFGR+8, 0
    RD32    GICD_BASE, GICD_ITARGETSR, GICD_ITARGETSR0
    WR32    GICD_BASE, GICD_ITARGETSR+40, 0x01010101
    RD32    GICD_BASE, GICD_ITARGETSR+40, GICD_ITARGETSR10

    LINE    "the enable gates forwarding of pending SPI 40"
    WR32    GICD_BASE, GICD_CTLR, GICD_CTLR_ENABLE
    WR32    GICC_BASE, GICC_PMR, 0xff
    WR32    GICC_BASE, GICC_CTLR, GICC_CTLR_ENABLE
    WR32    GICD_BASE, GICD_ISPENDR+4, 0x00000100
    RD32    GICC_BASE, GICC_HPPIR, GICC_HPPIR
    WR32    GICD_BASE, GICD_ISENABLER+4, 0x00000100
    RD32    GICC_BASE, GICC_HPPIR, GICC_HPPIR
    WR32    GICD_BASE, GICD_ICENABLER+4, 0x00000100
    RD32    GICC_BASE, GICC_HPPIR, GICC_HPPIR
    WR32    GICD_BASE, GICD_ICPENDR+4, 0x00000100
    EXIT    0
