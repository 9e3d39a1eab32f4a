// gic_pending: pending and active state in the distributor (Arm IHI 0048B 4.3.7, 4.3.8,
// 4.3.9, 4.3.10, 4.3.15-4.3.17), set and cleared by software only, read back at EL2.
//
// Expected (QEMU virt, one CPU):
//   GICD_ISPENDR0 written all-ones reads 0xffff0000: SGI bits are WI there (SGIs are made
//   pending by GICD_SGIR or GICD_SPENDSGIRn), PPI bits set; ICPENDR0 clears them.
//   GICD_ISPENDR1/ICPENDR1 read the same SPI pending bits.
//   GICD_SGIR: TargetListFilter 2 (self) pends SGI 3 from CPU 0: ISPENDR0 bit 3 and byte 3
//   of GICD_SPENDSGIR0 = 0x01 (source CPU 0); filter 0 with CPUTargetList 1 pends SGI 6
//   (SPENDSGIR1 byte 2); filter 1 (all but self) and an empty target list pend nothing.
//   Byte writes to GICD_SPENDSGIRn / CPENDSGIRn set and clear one SGI's source bits.
//   GICD_ISACTIVER/ICACTIVER set and clear active bits of SGIs, PPIs and SPIs; GICC_RPR
//   stays idle (0xff): it follows acknowledgement, not the active bits.

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

// WR8 base, offset, value: a byte store (GICD_SPENDSGIRn/CPENDSGIRn, IPRIORITYR).
.macro WR8 base, off, val
    ldr     x9, =\base
    mov     w10, #\val
    strb    w10, [x9, #\off]
.endm

probe_main:
    LINE    "gic_pending: ISPENDR/ICPENDR, SGIR, SPENDSGIR/CPENDSGIR, ISACTIVER/ICACTIVER"
    WR32    GICD_BASE, GICD_ISPENDR, 0xffffffff
    RD32    GICD_BASE, GICD_ISPENDR, GICD_ISPENDR0
    WR32    GICD_BASE, GICD_ICPENDR, 0xffffffff
    RD32    GICD_BASE, GICD_ICPENDR, GICD_ICPENDR0
    WR32    GICD_BASE, GICD_ISPENDR+4, 0x00000101
    RD32    GICD_BASE, GICD_ISPENDR+4, GICD_ISPENDR1
    RD32    GICD_BASE, GICD_ICPENDR+4, GICD_ICPENDR1
    WR32    GICD_BASE, GICD_ICPENDR+4, 0x00000001
    RD32    GICD_BASE, GICD_ISPENDR+4, GICD_ISPENDR1
    WR32    GICD_BASE, GICD_ICPENDR+4, 0xffffffff
    RD32    GICD_BASE, GICD_ISPENDR+4, GICD_ISPENDR1

    LINE    "SGIs"
    WR32    GICD_BASE, GICD_SGIR, 0x02000003
    WR32    GICD_BASE, GICD_SGIR, 0x00010006
    WR32    GICD_BASE, GICD_SGIR, 0x01000004
    WR32    GICD_BASE, GICD_SGIR, 0x00000005
    RD32    GICD_BASE, GICD_ISPENDR, GICD_ISPENDR0
    RD32    GICD_BASE, GICD_SPENDSGIR, GICD_SPENDSGIR0
    RD32    GICD_BASE, GICD_SPENDSGIR+4, GICD_SPENDSGIR1
    RD32    GICD_BASE, GICD_CPENDSGIR+4, GICD_CPENDSGIR1
    WR8     GICD_BASE, GICD_SPENDSGIR+9, 0x01
    RD32    GICD_BASE, GICD_SPENDSGIR+8, GICD_SPENDSGIR2
    RD32    GICD_BASE, GICD_ISPENDR, GICD_ISPENDR0
    WR8     GICD_BASE, GICD_CPENDSGIR+9, 0x01
    WR8     GICD_BASE, GICD_CPENDSGIR+6, 0x01
    WR8     GICD_BASE, GICD_CPENDSGIR+3, 0x01
    RD32    GICD_BASE, GICD_ISPENDR, GICD_ISPENDR0
    RD32    GICD_BASE, GICD_SPENDSGIR, GICD_SPENDSGIR0
    RD32    GICD_BASE, GICD_SPENDSGIR+8, GICD_SPENDSGIR2

    LINE    "active"
    WR32    GICD_BASE, GICD_ISACTIVER, 0x00010002
    WR32    GICD_BASE, GICD_ISACTIVER+4, 0x80000000
    RD32    GICD_BASE, GICD_ISACTIVER, GICD_ISACTIVER0
    RD32    GICD_BASE, GICD_ICACTIVER+4, GICD_ICACTIVER1
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    WR32    GICD_BASE, GICD_ICACTIVER, 0x00000002
    RD32    GICD_BASE, GICD_ISACTIVER, GICD_ISACTIVER0
    WR32    GICD_BASE, GICD_ICACTIVER, 0xffffffff
    WR32    GICD_BASE, GICD_ICACTIVER+4, 0xffffffff
    RD32    GICD_BASE, GICD_ISACTIVER, GICD_ISACTIVER0
    RD32    GICD_BASE, GICD_ISACTIVER+4, GICD_ISACTIVER1
    EXIT    0
