// gic_ack: the acknowledge / end-of-interrupt cycle of the CPU interface (Arm IHI 0048B
// 3.2.4, 3.3, 4.4.4-4.4.8, 4.4.13, 4.4.15), polled at EL2 with interrupts masked:
// GICC_IAR returns the INTID and makes it active, GICC_RPR follows the active priority,
// GICC_EOIR drops it and deactivates, and then GICC_IAR is spurious (1023).
//
// Expected (QEMU virt; BPR 0, so group priority = priority & 0xfe):
//   SPI 40 (priority 0xa0), pended by GICD_ISPENDR, and SGI 5 (0x60, from GICD_SGIR to
//   self): HPPIR = 5 (higher priority), IAR = 5 (CPUID bits [12:10] = 0, the source),
//   RPR = 0x60, GICC_APR0 bit 0x30 (= 0x60 >> 1: 7 preemption bits, one bit per level).
//   A nested IAR returns 1023 (0xa0 cannot preempt 0x60); HPPIR still shows 40.
//   EOIR 5: RPR idle (0xff), SGI 5 inactive; IAR = 40 (its pending bit clears, active
//   sets), EOIR 40, then IAR = 1023 with nothing pending and nothing active.
//   EOImode (GICC_CTLR bit 9): EOIR drops the running priority but leaves SGI 1 active
//   until GICC_DIR.
//   Groups: SGI 2 in Group 1 reads as 1022 from HPPIR/IAR unless GICC_CTLR.AckCtl; then
//   it is acknowledged and its active priority shows in GICC_NSAPR0, not GICC_APR0.

    .include "gic_probe.inc"

probe_main:
    LINE    "gic_ack: IAR/RPR/EOIR, spurious 1023, EOImode and DIR, Group 1 and AckCtl"
    WR32    GICD_BASE, GICD_CTLR, GICD_CTLR_ENABLE
    WR32    GICC_BASE, GICC_PMR, 0xff
    WR32    GICC_BASE, GICC_CTLR, GICC_CTLR_ENABLE
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    RD32    GICC_BASE, GICC_RPR, GICC_RPR

    WR8     GICD_BASE, GICD_IPRIORITYR+40, 0xa0
    WR8     GICD_BASE, GICD_IPRIORITYR+5, 0x60
    WR32    GICD_BASE, GICD_ISENABLER+4, 0x00000100
    WR32    GICD_BASE, GICD_ISPENDR+4, 0x00000100
    WR32    GICD_BASE, GICD_SGIR, 0x02000005
    RD32    GICC_BASE, GICC_HPPIR, GICC_HPPIR
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    RD32    GICC_BASE, GICC_APR0+4, GICC_APR1
    RD32    GICD_BASE, GICD_ISACTIVER, GICD_ISACTIVER0
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    RD32    GICC_BASE, GICC_HPPIR, GICC_HPPIR
    WR32    GICC_BASE, GICC_EOIR, 5
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    RD32    GICD_BASE, GICD_ISACTIVER, GICD_ISACTIVER0
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    RD32    GICC_BASE, GICC_APR0+8, GICC_APR2
    RD32    GICD_BASE, GICD_ISPENDR+4, GICD_ISPENDR1
    RD32    GICD_BASE, GICD_ISACTIVER+4, GICD_ISACTIVER1
    WR32    GICC_BASE, GICC_EOIR, 40
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    RD32    GICD_BASE, GICD_ISACTIVER+4, GICD_ISACTIVER1
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    RD32    GICC_BASE, GICC_HPPIR, GICC_HPPIR

    LINE    "EOImode: EOIR drops priority, DIR deactivates"
    WR32    GICC_BASE, GICC_CTLR, (GICC_CTLR_ENABLE | GICC_CTLR_EOIMODE)
    RD32    GICC_BASE, GICC_CTLR, GICC_CTLR
    WR32    GICD_BASE, GICD_SGIR, 0x02000001
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    WR32    GICC_BASE, GICC_EOIR, 1
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    RD32    GICD_BASE, GICD_ISACTIVER, GICD_ISACTIVER0
    WR32    GICC_BASE, GICC_DIR, 1
    RD32    GICD_BASE, GICD_ISACTIVER, GICD_ISACTIVER0

    LINE    "Group 1: 1022 without AckCtl, NSAPR0 with it"
    WR32    GICD_BASE, GICD_CTLR, 3
    WR32    GICC_BASE, GICC_CTLR, 3
    WR32    GICD_BASE, GICD_IGROUPR, 0x00000004
    WR8     GICD_BASE, GICD_IPRIORITYR+2, 0x20
    WR32    GICD_BASE, GICD_SGIR, 0x02000002
    RD32    GICC_BASE, GICC_HPPIR, GICC_HPPIR
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    WR32    GICC_BASE, GICC_CTLR, 7
    RD32    GICC_BASE, GICC_HPPIR, GICC_HPPIR
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    RD32    GICC_BASE, GICC_APR0, GICC_APR0
    RD32    GICC_BASE, GICC_NSAPR0, GICC_NSAPR0
    WR32    GICC_BASE, GICC_EOIR, 2
    RD32    GICC_BASE, GICC_NSAPR0, GICC_NSAPR0
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    EXIT    0
