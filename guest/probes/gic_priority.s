// gic_priority: interrupt priorities, the priority mask and binary points (Arm IHI 0048B
// 3.3, 4.3.11, 4.4.2, 4.4.3), with software-generated interrupts only, at EL2.
//
// Expected (QEMU virt: 8 priority bits, GICC_BPR minimum 0, GICC_ABPR minimum 1):
//   Byte writes to GICD_IPRIORITYRn change one interrupt's priority and keep the others;
//   all 8 bits are implemented (0xff reads back).
//   GICC_PMR 0xff reads back; GICC_BPR resets to 0, GICC_ABPR to 1, and a write below the
//   minimum reads as the minimum.
//   PMR masking: SGI 2 at priority 0x40 is invisible (GICC_HPPIR and GICC_IAR = 1023) with
//   PMR = 0x40, since only a priority strictly higher (lower value) than the mask passes;
//   with PMR = 0x41 it is the highest pending interrupt and is acknowledged.
//   Preemption compares group priorities (3.3.3): with BPR = 4 (group priority [7:5]),
//   SGI 8 at 0x50 and SGI 9 at 0x48 share group priority 0x40, so with SGI 8 active SGI 9
//   is not acknowledged (IAR = 1023, HPPIR = 9) until SGI 8's EOIR; with BPR = 2 ([7:3])
//   it preempts. GICC_RPR shows the group priority of the highest active interrupt (0x40
//   with BPR 4; 0x50, then 0x48 with BPR 2) and GICC_APR1 one bit per active group
//   priority (bits 0x48 >> 1 and 0x50 >> 1, less 32); the EOIRs unwind it in order.

    .include "gic_probe.inc"

// SGI_SELF n: GICD_SGIR, TargetListFilter 0b10 (the requesting CPU only).
.macro SGI_SELF n
    WR32    GICD_BASE, GICD_SGIR, (0x02000000 | \n)
.endm

probe_main:
    LINE    "gic_priority: IPRIORITYR, PMR masking, BPR preemption"
    WR8     GICD_BASE, GICD_IPRIORITYR+3, 0x80
    WR8     GICD_BASE, GICD_IPRIORITYR+6, 0x40
    RD32    GICD_BASE, GICD_IPRIORITYR, GICD_IPRIORITYR0
    RD32    GICD_BASE, GICD_IPRIORITYR+4, GICD_IPRIORITYR1
    WR32    GICD_BASE, GICD_IPRIORITYR+40, 0x40302010
    WR8     GICD_BASE, GICD_IPRIORITYR+42, 0xff
    RD32    GICD_BASE, GICD_IPRIORITYR+40, GICD_IPRIORITYR10
    RD8     GICD_BASE, GICD_IPRIORITYR+43, GICD_IPRIORITYR10_byte3
    WR32    GICD_BASE, GICD_IPRIORITYR+40, 0

    LINE    "CPU interface reset values and minimums"
    RD32    GICC_BASE, GICC_PMR, GICC_PMR
    RD32    GICC_BASE, GICC_BPR, GICC_BPR
    RD32    GICC_BASE, GICC_ABPR, GICC_ABPR
    WR32    GICC_BASE, GICC_ABPR, 0
    RD32    GICC_BASE, GICC_ABPR, GICC_ABPR
    WR32    GICC_BASE, GICC_PMR, 0xff
    RD32    GICC_BASE, GICC_PMR, GICC_PMR

    LINE    "PMR masking: SGI 2 at 0x40"
    WR32    GICD_BASE, GICD_CTLR, GICD_CTLR_ENABLE
    WR32    GICC_BASE, GICC_CTLR, GICC_CTLR_ENABLE
    WR8     GICD_BASE, GICD_IPRIORITYR+2, 0x40
    SGI_SELF 2
    WR32    GICC_BASE, GICC_PMR, 0x40
    RD32    GICC_BASE, GICC_HPPIR, GICC_HPPIR
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    WR32    GICC_BASE, GICC_PMR, 0x41
    RD32    GICC_BASE, GICC_HPPIR, GICC_HPPIR
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    WR32    GICC_BASE, GICC_EOIR, 2
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    WR32    GICC_BASE, GICC_PMR, 0xff

    LINE    "BPR 4: SGI 8 (0x50) active, SGI 9 (0x48) same group priority"
    WR8     GICD_BASE, GICD_IPRIORITYR+8, 0x50
    WR8     GICD_BASE, GICD_IPRIORITYR+9, 0x48
    WR32    GICC_BASE, GICC_BPR, 4
    RD32    GICC_BASE, GICC_BPR, GICC_BPR
    SGI_SELF 8
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    SGI_SELF 9
    RD32    GICC_BASE, GICC_HPPIR, GICC_HPPIR
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    WR32    GICC_BASE, GICC_EOIR, 8
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    WR32    GICC_BASE, GICC_EOIR, 9

    LINE    "BPR 2: SGI 9 preempts SGI 8"
    WR32    GICC_BASE, GICC_BPR, 2
    SGI_SELF 8
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    SGI_SELF 9
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    RD32    GICC_BASE, GICC_APR0+4, GICC_APR1
    WR32    GICC_BASE, GICC_EOIR, 9
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    WR32    GICC_BASE, GICC_EOIR, 8
    RD32    GICC_BASE, GICC_RPR, GICC_RPR
    RD32    GICC_BASE, GICC_IAR, GICC_IAR
    RD32    GICD_BASE, GICD_ISACTIVER, GICD_ISACTIVER0
    EXIT    0
