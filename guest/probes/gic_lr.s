// gic_lr: list-register injection through the virtualization extensions (Arm IHI 0048B
// chapter 5): EL2 writes GICH_LRn, EL1 acknowledges and completes the virtual interrupts
// by polling the virtual CPU interface GICV (stage 2 off, so EL1 reaches it at its
// physical address), and EL2 reads back the list registers and the computed status.
//
// Expected (QEMU virt: GICH_VTR = 0x90000003, 4 list registers, 5 priority bits):
//   GICH_VMCR resets to 0x004c0000 (VMBP 2, VMABP 3: the minimums); written as
//   0xf0000001 it reads 0xf04c0001, and GICV_CTLR/PMR/BPR/ABPR show its fields.
//   LR0 = VirtualID 0x27 priority 0x08 pending, LR1 = VirtualID 0x28 priority 0 pending
//   with EOI=1. GICH_ELSR0 = 0xc (LR2, LR3 empty), MISR = 0, EISR0 = 0.
//   At EL1: GICV_HPPIR = GICV_IAR = 0x28 (higher priority), GICV_RPR = 0, GICV_APR0 = 1;
//   a second IAR = 1023 (0x08 cannot preempt 0); EOIR 0x28, then IAR = 0x27, RPR = 0x08.
//   At EL2: both list registers invalid; LR1 still has EOI=1 so it is not empty (ELSR0 =
//   0xd) and shows in GICH_EISR0 (0x2); GICH_MISR.EOI = 1 and the maintenance interrupt,
//   PPI 25, is pending in the distributor. Clearing LR1 takes it away.
//   MISR.U (underflow, HCR.UIE) while at most one list register is valid; MISR.NP
//   (HCR.NPIE) while none is pending.
//   HW=1: SPI 40, acknowledged at EL2 with GICC_CTLR.EOImode = 1 and only priority-
//   dropped, is injected as VirtualID 0x2a; the guest's GICV_EOIR deactivates SPI 40 in
//   the distributor (GICD_ISACTIVER1 bit 8 clears).
//   GICV EOImode (VMCR bit 9): EOIR leaves LR0 active, GICV_DIR deactivates it; a DIR for
//   a VirtualID in no list register counts in GICH_HCR.EOICount, and HCR.LRENPIE then
//   sets MISR.LRENP.

    .include "gic_probe.inc"

// GICH_LR fields (gic.inc): state, priority[7:3] at [27:23], PhysicalID or EOI.
.equ LR0_V27,       (GICH_LR_STATE_PENDING | (1 << GICH_LR_PRIORITY_SHIFT) | 0x27)
.equ LR1_V28_EOI,   (GICH_LR_STATE_PENDING | (1 << 19) | 0x28)
.equ LR0_HW_V2A,    (GICH_LR_HW | GICH_LR_STATE_PENDING | (40 << GICH_LR_PHYSICALID_SHIFT) | 0x2a)
.equ GICH_HCR_LRENPIE_BIT, (1 << 2)          // not in gic.inc
.equ VMCR_GRP0,     0xf0000001              // VMPriMask 0xf0, VMGrp0En
.equ VMCR_GRP0_EOIMODE, 0xf0000201          // ... and VEM (GICV_CTLR.EOImode)

probe_main:
    LINE    "gic_lr: GICH list registers, GICV at EL1, maintenance status"
    WR32    GICD_BASE, GICD_CTLR, GICD_CTLR_ENABLE
    WR32    GICC_BASE, GICC_PMR, 0xff
    WR32    GICC_BASE, GICC_CTLR, (GICC_CTLR_ENABLE | GICC_CTLR_EOIMODE)
    WR32    GICD_BASE, GICD_ISENABLER, (1 << INTID_MAINTENANCE)
    RD32    GICH_BASE, GICH_VTR, GICH_VTR
    RD32    GICH_BASE, GICH_HCR, GICH_HCR
    RD32    GICH_BASE, GICH_VMCR, GICH_VMCR
    RD32    GICH_BASE, GICH_ELSR0, GICH_ELSR0

    WR32    GICH_BASE, GICH_HCR, GICH_HCR_EN
    WR32    GICH_BASE, GICH_VMCR, VMCR_GRP0
    RD32    GICH_BASE, GICH_VMCR, GICH_VMCR
    WR32    GICH_BASE, GICH_LR0, LR0_V27
    WR32    GICH_BASE, GICH_LR0+4, LR1_V28_EOI
    RD32    GICH_BASE, GICH_LR0, GICH_LR0
    RD32    GICH_BASE, GICH_LR0+4, GICH_LR1
    RD32    GICH_BASE, GICH_ELSR0, GICH_ELSR0
    RD32    GICH_BASE, GICH_EISR0, GICH_EISR0
    RD32    GICH_BASE, GICH_MISR, GICH_MISR

    ENTER_EL1
    PRINT_SYSREG CurrentEL
    RD32    GICV_BASE, GICC_CTLR, GICV_CTLR
    RD32    GICV_BASE, GICC_PMR, GICV_PMR
    RD32    GICV_BASE, GICC_BPR, GICV_BPR
    RD32    GICV_BASE, GICC_ABPR, GICV_ABPR
    RD32    GICV_BASE, GICC_HPPIR, GICV_HPPIR
    RD32    GICV_BASE, GICC_IAR, GICV_IAR
    RD32    GICV_BASE, GICC_RPR, GICV_RPR
    RD32    GICV_BASE, GICC_APR0, GICV_APR0
    RD32    GICV_BASE, GICC_IAR, GICV_IAR
    RD32    GICV_BASE, GICC_HPPIR, GICV_HPPIR
    WR32    GICV_BASE, GICC_EOIR, 0x28
    RD32    GICV_BASE, GICC_RPR, GICV_RPR
    RD32    GICV_BASE, GICC_IAR, GICV_IAR
    RD32    GICV_BASE, GICC_RPR, GICV_RPR
    WR32    GICV_BASE, GICC_EOIR, 0x27
    RD32    GICV_BASE, GICC_RPR, GICV_RPR
    RD32    GICV_BASE, GICC_IAR, GICV_IAR
    RAISE_TO_EL2

    PRINT_SYSREG CurrentEL
    RD32    GICH_BASE, GICH_LR0, GICH_LR0
    RD32    GICH_BASE, GICH_LR0+4, GICH_LR1
    RD32    GICH_BASE, GICH_APR, GICH_APR
    RD32    GICH_BASE, GICH_ELSR0, GICH_ELSR0
    RD32    GICH_BASE, GICH_EISR0, GICH_EISR0
    RD32    GICH_BASE, GICH_MISR, GICH_MISR
    RD32    GICH_BASE, GICH_HCR, GICH_HCR
    RD32    GICD_BASE, GICD_ISPENDR, GICD_ISPENDR0
    RD32    GICC_BASE, GICC_HPPIR, GICC_HPPIR
    WR32    GICH_BASE, GICH_LR0+4, 0
    RD32    GICH_BASE, GICH_MISR, GICH_MISR
    RD32    GICH_BASE, GICH_ELSR0, GICH_ELSR0
    RD32    GICD_BASE, GICD_ISPENDR, GICD_ISPENDR0
    RD32    GICC_BASE, GICC_HPPIR, GICC_HPPIR

    LINE    "underflow (UIE) and no-pending (NPIE)"
    WR32    GICH_BASE, GICH_HCR, (GICH_HCR_EN | GICH_HCR_UIE)
    RD32    GICH_BASE, GICH_MISR, GICH_MISR
    WR32    GICH_BASE, GICH_LR0, LR0_V27
    RD32    GICH_BASE, GICH_MISR, GICH_MISR
    WR32    GICH_BASE, GICH_LR0+4, LR1_V28_EOI
    RD32    GICH_BASE, GICH_MISR, GICH_MISR
    WR32    GICH_BASE, GICH_HCR, (GICH_HCR_EN | GICH_HCR_NPIE)
    RD32    GICH_BASE, GICH_MISR, GICH_MISR
    WR32    GICH_BASE, GICH_LR0, 0
    WR32    GICH_BASE, GICH_LR0+4, 0
    RD32    GICH_BASE, GICH_MISR, GICH_MISR
    RD32    GICD_BASE, GICD_ISPENDR, GICD_ISPENDR0
    WR32    GICH_BASE, GICH_HCR, GICH_HCR_EN
    RD32    GICH_BASE, GICH_MISR, GICH_MISR

    LINE    "HW=1: the guest's EOI deactivates physical SPI 40"
    WR32    GICD_BASE, GICD_ISENABLER+4, 0x00000100
    WR32    GICD_BASE, GICD_ISPENDR+4, 0x00000100
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    WR32    GICC_BASE, GICC_EOIR, 40
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    RD32    GICD_BASE, GICD_ISACTIVER+4, GICD_ISACTIVER1
    WR32    GICH_BASE, GICH_LR0, LR0_HW_V2A
    ENTER_EL1
    RD32    GICV_BASE, GICC_IAR, GICV_IAR
    WR32    GICV_BASE, GICC_EOIR, 0x2a
    RAISE_TO_EL2
    RD32    GICH_BASE, GICH_LR0, GICH_LR0
    RD32    GICD_BASE, GICD_ISACTIVER+4, GICD_ISACTIVER1
    RD32    GICH_BASE, GICH_ELSR0, GICH_ELSR0

    LINE    "GICV EOImode: EOIR drops, DIR deactivates, EOICount"
    WR32    GICH_BASE, GICH_VMCR, VMCR_GRP0_EOIMODE
    WR32    GICH_BASE, GICH_LR0, LR0_V27
    ENTER_EL1
    RD32    GICV_BASE, GICC_CTLR, GICV_CTLR
    RD32    GICV_BASE, GICC_IAR, GICV_IAR
    WR32    GICV_BASE, GICC_EOIR, 0x27
    RD32    GICV_BASE, GICC_RPR, GICV_RPR
    RAISE_TO_EL2
    RD32    GICH_BASE, GICH_LR0, GICH_LR0
    ENTER_EL1
    WR32    GICV_BASE, GICC_DIR, 0x27
    WR32    GICV_BASE, GICC_DIR, 0x33
    RAISE_TO_EL2
    RD32    GICH_BASE, GICH_LR0, GICH_LR0
    RD32    GICH_BASE, GICH_HCR, GICH_HCR
    RD32    GICH_BASE, GICH_MISR, GICH_MISR
    ldr     x9, =GICH_BASE
    ldr     w10, [x9, #GICH_HCR]
    mov     w11, #GICH_HCR_LRENPIE_BIT
    orr     w10, w10, w11
    str     w10, [x9, #GICH_HCR]
    RD32    GICH_BASE, GICH_MISR, GICH_MISR
    EXIT    0
