// check: the tenant-contract check. A plain bare-metal EL1 program for QEMU `virt`, the
// kind of first test a user writes, which must print the same transcript when QEMU starts
// it at EL1 directly and when it runs as a tenant of our hypervisor (DESIGN.md, "The
// tenant contract"). It uses only what the contract promises:
//
//   - the PL011 at UART0_BASE, polled through UARTFR.TXFF, one byte write per character;
//   - the GICv2 distributor (enable PPI 27, its priority byte, GICD_CTLR) and CPU interface
//     (GICC_PMR, GICC_CTLR, GICC_IAR, GICC_EOIR);
//   - the EL1 virtual timer (CNTFRQ_EL0, CNTVCT_EL0, CNTV_CVAL_EL0, CNTV_CTL_EL0) on INTID 27;
//   - its own vector table (VBAR_EL1), DAIF and WFI;
//   - the exit: Arm semihosting SYS_EXIT, or PSCI SYSTEM_OFF over HVC when built with
//     EXIT_VIA_HVC = 1 (check_tenant.s), since a tenant has no semihosting.
//
// Every number printed is one the program decides, never a counter value sampled at an
// arbitrary moment: each tick prints its ordinal and the tick number computed from the
// compare value that fired ((CNTV_CVAL_EL0 - start) / period), which is exact however late
// the interrupt is taken. Failed checks print "FAIL ..." and the exit code is 1.

.ifndef EXIT_VIA_HVC
.equ EXIT_VIA_HVC,      0       // 0: semihosting SYS_EXIT (QEMU -semihosting); 1: PSCI over HVC
.endif

.include "board.inc"
.include "gic.inc"
.include "smccc.inc"

.equ TICKS,             5       // timer interrupts to take
.equ TICK_HZ,           100     // 10 ms apart: the whole check takes about 50 ms
.equ TIMER_PRIORITY,    0x80    // GICD_IPRIORITYR byte for INTID 27 (lower = more urgent)
.equ PMR_ALLOW_ALL,     0xf0    // GICC_PMR: let through every priority above 0xf0
.equ IAR_INTID_MASK,    0x3ff   // GICC_IAR[9:0]; bits 12:10 are the source CPU of an SGI

_start:
    msr     daifset, #0xf                   // masked at reset anyway; do not rely on it
    ldr     x0, =stack_top
    mov     sp, x0
    ldr     x0, =vectors
    msr     vbar_el1, x0
    isb
    b       main

// ---- Console ---------------------------------------------------------------------------

// putc: w0 = byte. Waits while the transmit FIFO is full, then writes the data register.
putc:
    ldr     x9, =UART0_BASE
putc_wait:
    ldr     w10, [x9, #UARTFR]
    tst     w10, #UARTFR_TXFF
    b.ne    putc_wait
    strb    w0, [x9, #UARTDR]
    ret

// puts: x0 = NUL-terminated string. Clobbers x0, x9-x11.
puts:
    mov     x11, x0
    mov     x12, x30
puts_next:
    ldrb    w0, [x11], #1
    cbz     w0, puts_done
    bl      putc
    b       puts_next
puts_done:
    ret     x12

// put_dec: x0 = unsigned value, printed in decimal. Clobbers x0, x9-x15.
put_dec:
    stp     x29, x30, [sp, #-48]!
    add     x15, sp, #48                    // digits are built backwards below the frame top
    mov     x13, x15
    mov     x14, #10
put_dec_divide:
    udiv    x9, x0, x14
    msub    x10, x9, x14, x0
    add     x10, x10, #'0'
    strb    w10, [x13, #-1]!
    mov     x0, x9
    cbnz    x0, put_dec_divide
put_dec_emit:
    ldrb    w0, [x13], #1
    bl      putc
    cmp     x13, x15
    b.lo    put_dec_emit
    ldp     x29, x30, [sp], #48
    ret

// put_hex: x0 = value, as 0x and 16 digits (diagnostics only).
put_hex:
    mov     x13, x0
    mov     x14, x30
    mov     x0, #'0'
    bl      putc
    mov     x0, #'x'
    bl      putc
    mov     x15, #60
put_hex_digit:
    lsr     x0, x13, x15
    and     x0, x0, #0xf
    cmp     x0, #10
    add     x1, x0, #'0'
    add     x0, x0, #('a' - 10)
    csel    x0, x1, x0, lo
    bl      putc
    subs    x15, x15, #4
    b.ge    put_hex_digit
    ret     x14

newline:
    mov     w0, #10
    b       putc

// fail: x0 = message. Prints "FAIL <message>" and remembers that the check failed.
fail:
    stp     x19, x30, [sp, #-16]!
    mov     x19, x0
    adr     x0, str_fail
    bl      puts
    mov     x0, x19
    bl      puts
    ldr     x0, =failures
    ldr     x1, [x0]
    add     x1, x1, #1
    str     x1, [x0]
    ldp     x19, x30, [sp], #16
    ret

// ---- Exit ------------------------------------------------------------------------------

// exit: w0 = exit code. Does not return.
exit:
.if EXIT_VIA_HVC
    // PSCI SYSTEM_OFF (Arm DEN 0022) through the hypervisor's SMCCC conduit. PSCI has no
    // exit code: a failure is visible in the transcript ("FAIL ...") instead.
    ldr     w0, =PSCI_SYSTEM_OFF
    hvc     #0
.else
    // Semihosting SYS_EXIT, AArch64 form: x1 points at {reason, subcode}; QEMU exits with
    // the subcode as its status when the reason is ADP_Stopped_ApplicationExit.
    mov     w2, w0
    ldr     x1, =exit_block
    ldr     x0, =ADP_Stopped_ApplicationExit
    stp     x0, x2, [x1]
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000
.endif
exit_parked:
    wfi                                     // neither call returns; if one did, stay put
    b       exit_parked

// ---- Main ------------------------------------------------------------------------------

main:
    adr     x0, str_banner
    bl      puts

    // CurrentEL[3:2]: a tenant and QEMU without EL2 both start us at EL1.
    adr     x0, str_el
    bl      puts
    mrs     x0, CurrentEL
    ubfx    x0, x0, #2, #2
    mov     x19, x0
    bl      put_dec
    bl      newline
    cmp     x19, #1
    b.eq    main_el_ok
    adr     x0, str_fail_el
    bl      fail
main_el_ok:

    // Distributor: priority of INTID 27 (one byte per INTID, byte access is architected),
    // then enable it and the distributor. PPIs are level-sensitive and per core, so there
    // is no GICD_ITARGETSR or GICD_ICFGR to set.
    ldr     x20, =GICD_BASE
    mov     w0, #TIMER_PRIORITY
    strb    w0, [x20, #(GICD_IPRIORITYR + INTID_VIRT_TIMER)]
    mov     w0, #(1 << INTID_VIRT_TIMER)
    str     w0, [x20, #GICD_ISENABLER]
    mov     w0, #GICD_CTLR_ENABLE
    str     w0, [x20, #GICD_CTLR]
    ldr     w0, [x20, #GICD_ISENABLER]      // reads back the set-enable bits of INTIDs 0-31
    tbnz    w0, #INTID_VIRT_TIMER, main_enabled
    adr     x0, str_fail_enable
    bl      fail
main_enabled:
    adr     x0, str_gic
    bl      puts

    // CPU interface: accept every priority above the mask, then enable signalling.
    ldr     x21, =GICC_BASE
    mov     w0, #PMR_ALLOW_ALL
    str     w0, [x21, #GICC_PMR]
    mov     w0, #GICC_CTLR_ENABLE
    str     w0, [x21, #GICC_CTLR]

    // Timer: period = CNTFRQ / TICK_HZ counts; the first deadline is one period after
    // `start`, and each interrupt moves the deadline one period further (from the previous
    // deadline, not from "now", so late handling never shifts later ticks).
    mrs     x0, cntfrq_el0
    mov     x1, #TICK_HZ
    udiv    x0, x0, x1
    ldr     x1, =period
    str     x0, [x1]
    cbnz    x0, main_period_ok
    adr     x0, str_fail_freq
    bl      fail
    mov     w0, #1
    b       exit                            // no usable timer: nothing else can be checked
main_period_ok:
    ldr     x1, =ticks_taken
    str     xzr, [x1]
    isb                                     // read the counter here, not earlier
    mrs     x1, cntvct_el0
    ldr     x2, =start
    str     x1, [x2]
    add     x1, x1, x0
    msr     cntv_cval_el0, x1
    mov     x0, #CNT_CTL_ENABLE             // enabled, IMASK clear
    msr     cntv_ctl_el0, x0
    isb

    // Take the interrupts: unmask IRQ and sleep until the handler has counted TICKS.
    msr     daifclr, #2
main_wait:
    wfi
    ldr     x0, =ticks_taken
    ldr     x0, [x0]
    cmp     x0, #TICKS
    b.lo    main_wait
    msr     daifset, #2

    // The handler stopped the timer after the last tick: INTID 27 must not be pending now
    // (GICD_ISPENDR reads back the pending bits of INTIDs 0-31).
    ldr     w0, [x20, #GICD_ISPENDR]
    tbz     w0, #INTID_VIRT_TIMER, main_quiet
    adr     x0, str_fail_pending
    bl      fail
main_quiet:
    mov     w0, #(1 << INTID_VIRT_TIMER)
    str     w0, [x20, #GICD_ICENABLER]

    ldr     x0, =failures
    ldr     x19, [x0]
    cbnz    x19, main_failed
    adr     x0, str_passed
    bl      puts
    mov     w0, #0
    b       exit
main_failed:
    adr     x0, str_failed
    bl      puts
    mov     w0, #1
    b       exit

// ---- The timer interrupt -----------------------------------------------------------------

// irq_handler: entered from the IRQ vector with the interrupted x0-x18, x29, x30 saved.
// Acknowledge (GICC_IAR), handle, then signal end of interrupt with the same IAR value.
// The deadline is moved before the EOI: the timer output is level-sensitive and stays
// asserted while CNTVCT >= CVAL, so moving it first keeps the GIC from re-pending it.
irq_handler:
    stp     x19, x30, [sp, #-32]!
    stp     x20, x21, [sp, #16]
    ldr     x21, =GICC_BASE
    ldr     w20, [x21, #GICC_IAR]
    and     w19, w20, #IAR_INTID_MASK
    cmp     w19, #GIC_SPURIOUS
    b.eq    irq_return                      // nothing to acknowledge: no EOI either
    cmp     w19, #INTID_VIRT_TIMER
    b.eq    irq_tick
    adr     x0, str_unexpected_irq
    bl      puts
    mov     x0, x19
    bl      put_dec
    bl      newline
    adr     x0, str_fail_irq
    bl      fail
    b       irq_eoi

irq_tick:
    // It must not fire early: the counter has reached the compare value that fired.
    mrs     x0, cntv_cval_el0
    isb
    mrs     x1, cntvct_el0
    cmp     x1, x0
    b.hs    irq_on_time
    adr     x0, str_fail_early
    bl      fail
irq_on_time:
    ldr     x0, =ticks_taken
    ldr     x1, [x0]
    add     x1, x1, #1
    str     x1, [x0]
    adr     x0, str_tick
    bl      puts
    ldr     x0, =ticks_taken
    ldr     x0, [x0]
    bl      put_dec
    adr     x0, str_from_cval
    bl      puts
    mrs     x0, cntv_cval_el0
    ldr     x1, =start
    ldr     x1, [x1]
    sub     x0, x0, x1
    ldr     x1, =period
    ldr     x1, [x1]
    udiv    x0, x0, x1
    bl      put_dec
    adr     x0, str_close
    bl      puts

    ldr     x0, =ticks_taken
    ldr     x0, [x0]
    cmp     x0, #TICKS
    b.hs    irq_stop_timer
    mrs     x0, cntv_cval_el0
    ldr     x1, =period
    ldr     x1, [x1]
    add     x0, x0, x1
    msr     cntv_cval_el0, x0
    b       irq_moved
irq_stop_timer:
    msr     cntv_ctl_el0, xzr               // disabled: the output drops, INTID 27 idles
irq_moved:
    isb
irq_eoi:
    str     w20, [x21, #GICC_EOIR]
irq_return:
    ldp     x20, x21, [sp, #16]
    ldp     x19, x30, [sp], #32
    ret

// unexpected: x0 = vector slot. Any exception other than an IRQ from EL1h is a failure of
// the environment: print what the architecture reports and stop.
unexpected:
    mov     x19, x0
    adr     x0, str_unexpected
    bl      puts
    mov     x0, x19
    lsl     x0, x0, #7                      // slot * 0x80 = offset in the vector table
    bl      put_hex
    adr     x0, str_esr
    bl      puts
    mrs     x0, esr_el1
    bl      put_hex
    adr     x0, str_elr
    bl      puts
    mrs     x0, elr_el1
    bl      put_hex
    bl      newline
    mov     w0, #1
    b       exit

// ---- Vector table (VBAR_EL1 needs 2 KiB alignment; 16 slots of 0x80 bytes) --------------

.macro UNEXPECTED slot
    .balign 0x80
    mov     x0, #\slot
    b       unexpected
.endm

    .balign 0x800
vectors:
    UNEXPECTED 0                            // current EL, SP_EL0: sync
    UNEXPECTED 1                            //   IRQ
    UNEXPECTED 2                            //   FIQ
    UNEXPECTED 3                            //   SError
    UNEXPECTED 4                            // current EL, SP_ELx: sync
    .balign 0x80
vector_irq:                                 //   IRQ: the only one this program expects
    b       irq_entry
    UNEXPECTED 6                            //   FIQ
    UNEXPECTED 7                            //   SError
    UNEXPECTED 8                            // lower EL, AArch64
    UNEXPECTED 9
    UNEXPECTED 10
    UNEXPECTED 11
    UNEXPECTED 12                           // lower EL, AArch32
    UNEXPECTED 13
    UNEXPECTED 14
    UNEXPECTED 15

// irq_entry: keep every caller-saved register of the interrupted code (the main loop only
// relies on x19-x21, but a handler must not assume that), call the handler, return.
irq_entry:
    sub     sp, sp, #176
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x29, [sp, #144]
    str     x30, [sp, #160]
    bl      irq_handler
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x29, [sp, #144]
    ldr     x30, [sp, #160]
    add     sp, sp, #176
    eret

// ---- Text ------------------------------------------------------------------------------

str_banner:         .asciz "contract: EL1 tenant-contract check\n"
str_el:             .asciz "contract: CurrentEL "
str_gic:            .asciz "contract: INTID 27 enabled at the distributor\n"
str_tick:           .asciz "tick "
str_from_cval:      .asciz " (CVAL tick "
str_close:          .asciz ")\n"
str_passed:         .asciz "contract: 5 ticks taken, all checks passed\n"
str_failed:         .asciz "contract: some checks FAILED\n"
str_fail:           .asciz "FAIL "
str_fail_el:        .asciz "not running at EL1\n"
str_fail_enable:    .asciz "GICD_ISENABLER0 does not show INTID 27 enabled\n"
str_fail_freq:      .asciz "CNTFRQ_EL0 is too small for the tick rate\n"
str_fail_pending:   .asciz "INTID 27 still pending after the timer was disabled\n"
str_fail_irq:       .asciz "interrupt other than INTID 27\n"
str_fail_early:     .asciz "timer interrupt before CNTVCT reached CVAL\n"
str_unexpected_irq: .asciz "unexpected INTID "
str_unexpected:     .asciz "unexpected exception at vector offset "
str_esr:            .asciz " ESR_EL1 "
str_elr:            .asciz " ELR_EL1 "

    .ltorg                                  // literals before the zero-filled part
    .balign 16                              // (Keystone pads with NOPs: not after __bss_start)
__bss_start:
start:              .quad 0                 // CNTVCT_EL0 when the timer was armed
period:             .quad 0                 // counts per tick
ticks_taken:        .quad 0
failures:           .quad 0
exit_block:         .quad 0, 0              // semihosting SYS_EXIT parameter block
stack:              .space 0x1000
stack_top:
