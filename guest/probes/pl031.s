// pl031: the virt board's real-time clock (Arm DDI 0224) at 0x09010000, SPI 34, read back at
// EL2 with interrupts masked.
//
// Expected (QEMU virt's hw/rtc/pl031.c): PeriphID 0x31 0x10 0x14 0x00, PCellID 0x0d 0xf0 0x05
// 0xb1; RTCCR reads 1 (always running); RTCMR, RTCIMSC, RTCRIS 0 at reset. RTCLR reads back
// what was written and RTCDR then counts on from it. RTCMR written with the value RTCDR has
// matches at once (RTCRIS 1); RTCIMSC gates RTCMIS and the level on SPI 34, which shows in
// GICD_ISPENDR1 bit 2 while asserted; RTCICR clears it. A match two seconds ahead has not
// happened yet.
//
// The seconds themselves depend on the host's clock on QEMU: only differences and flags are
// printed, never RTCDR.

    .include "primecell_probe.inc"

.equ RTC_BASE,      0x09010000
.equ RTCDR,         0x00
.equ RTCMR,         0x04
.equ RTCLR,         0x08
.equ RTCCR,         0x0c
.equ RTCIMSC,       0x10
.equ RTCRIS,        0x14
.equ RTCMIS,        0x18
.equ RTCICR,        0x1c

probe_main:
    LINE    "pl031: identification, CR, LR/DR, match interrupt on SPI 34"
    PRIMECELL_IDS RTC_BASE
    RD32    RTC_BASE, RTCCR, RTCCR
    WR32    RTC_BASE, RTCCR, 0
    RD32    RTC_BASE, RTCCR, RTCCR
    RD32    RTC_BASE, RTCMR, RTCMR
    RD32    RTC_BASE, RTCIMSC, RTCIMSC
    RD32    RTC_BASE, RTCRIS, RTCRIS
    RD32    RTC_BASE, RTCMIS, RTCMIS

    LINE    "load"
    WR32    RTC_BASE, RTCLR, 0x10000
    RD32    RTC_BASE, RTCLR, RTCLR
    ldr     x9, =RTC_BASE
    ldr     w10, [x9, #RTCDR]
    sub     w10, w10, #0x10000
    cmp     w10, #1
    cset    x10, ls
    PRINT_XREG "RTCDR_minus_RTCLR_at_most_1", x10
    WR32    RTC_BASE, RTCIMSC, 0xffffffff
    RD32    RTC_BASE, RTCIMSC, RTCIMSC
    WR32    RTC_BASE, RTCIMSC, 0

    LINE    "match now, masked then unmasked"
    ldr     x9, =RTC_BASE
rtc_match_now:
    ldr     w11, [x9, #RTCDR]
    str     w11, [x9, #RTCMR]
    ldr     w12, [x9, #RTCDR]
    cmp     w11, w12
    b.ne    rtc_match_now                   // a second ticked in between: try again
    RD32    RTC_BASE, RTCRIS, RTCRIS
    RD32    RTC_BASE, RTCMIS, RTCMIS
    SPI_PENDING 34, GICD_ISPENDR1_34
    WR32    RTC_BASE, RTCIMSC, 1
    RD32    RTC_BASE, RTCMIS, RTCMIS
    SPI_PENDING 34, GICD_ISPENDR1_34
    WR32    RTC_BASE, RTCICR, 0
    RD32    RTC_BASE, RTCRIS, RTCRIS
    WR32    RTC_BASE, RTCICR, 1
    RD32    RTC_BASE, RTCRIS, RTCRIS
    RD32    RTC_BASE, RTCMIS, RTCMIS
    SPI_PENDING 34, GICD_ISPENDR1_34

    LINE    "match two seconds ahead"
    ldr     x9, =RTC_BASE
    ldr     w11, [x9, #RTCDR]
    add     w11, w11, #2
    str     w11, [x9, #RTCMR]
    RD32    RTC_BASE, RTCRIS, RTCRIS
    SPI_PENDING 34, GICD_ISPENDR1_34
    WR32    RTC_BASE, RTCIMSC, 0
    EXIT    0
