// sgi_timers: interrupts between cores and each core's own timer.
//
// Run with four cores at EL2 (QEMU: -smp 4; emu: --smp 4). Core 0 enables the distributor,
// starts cores 1-3 with PSCI CPU_ON, and each core enables its own CPU interface, SGIs 1-3 and
// its EL2 physical timer's PPI 26 in its banked GICD_ISENABLER0, routes IRQs to EL2
// (HCR_EL2.IMO) and unmasks them. Every interrupt is logged by the core that takes it: the
// GICC_IAR value (INTID, and the sending core for an SGI).
//
//   1. Core 0 sends SGI 1 to core 1, then core 2, then core 3 (GICD_SGIR target list), each
//      after the previous one was taken.
//   2. Core 0 sends SGI 2 to "every core but me" (TargetListFilter 01).
//   3. Core 3 sends SGI 3 to core 0, which waits for it in WFI.
//   4. Each core arms its own CNTHP timer (a different TVAL per core) and waits in WFI for PPI 26.
//
// Only core 0 prints, once everything is logged, so the transcript does not depend on timing.

.include "smp.inc"

.equ CORES,                 4
.equ SGI_ENABLES,           ((1 << 1) | (1 << 2) | (1 << 3) | (1 << 26))   // SGIs 1-3, PPI 26
.equ LOG_SLOTS,             8               // IAR values kept per core

_start:
    mov     x0, #0
    bl      gic_core_setup
    ldr     x1, =GICD_BASE
    mov     w0, #1
    str     w0, [x1, #GICD_CTLR]
    adr     x1, msg_header
    bl      puts

    adr     x0, secondary
    mov     x1, #CORES
    bl      start_cores
    adr     x20, ready
wait_ready:
    ldar    w0, [x20]
    cmp     w0, #(CORES - 1)
    b.ne    wait_ready

    // 1. SGI 1 to each secondary in turn.
    mov     x19, #1
sgi1_loop:
    mov     x0, #1
    lsl     x0, x0, x19
    lsl     x0, x0, #16                     // CPUTargetList
    orr     x0, x0, #1                      // SGIINTID 1
    ldr     x1, =GICD_BASE
    str     w0, [x1, #GICD_SGIR]
    mov     x0, x19
    mov     x1, #1
    bl      wait_logged
    add     x19, x19, #1
    cmp     x19, #CORES
    b.ne    sgi1_loop

    // 2. SGI 2 to every core but core 0.
    ldr     x0, =((1 << 24) | 2)
    ldr     x1, =GICD_BASE
    str     w0, [x1, #GICD_SGIR]
    mov     x19, #1
sgi2_wait:
    mov     x0, x19
    mov     x1, #2
    bl      wait_logged
    add     x19, x19, #1
    cmp     x19, #CORES
    b.ne    sgi2_wait

    // 3. Core 3 sends SGI 3 to core 0; core 0 waits for it in WFI.
    adr     x0, phase
    mov     w1, #3
    stlr    w1, [x0]
    mov     x0, #0
    mov     x1, #1
    bl      wfi_until_logged

    // 4. Every core's own timer.
    adr     x0, phase
    mov     w1, #4
    stlr    w1, [x0]
    mov     x0, #0
    bl      timer_wait
    mov     x19, #1
timer_all:
    mov     x0, x19
    mov     x1, #3
    bl      wait_logged
    add     x19, x19, #1
    cmp     x19, #CORES
    b.ne    timer_all

    // Report, then turn the secondaries off.
    mov     x19, #0
report_core:
    adr     x1, msg_core
    bl      puts
    add     w0, w19, #'0'
    bl      putc
    adr     x1, msg_took
    bl      puts
    adr     x21, counts
    ldr     w22, [x21, x19, lsl #2]
    adr     x23, log
    add     x23, x23, x19, lsl #5           // LOG_SLOTS * 4 bytes per core
    mov     x24, #0
report_iar:
    cmp     x24, x22
    b.eq    report_done
    mov     w0, #' '
    bl      putc
    ldr     w0, [x23, x24, lsl #2]
    bl      print_iar
    add     x24, x24, #1
    b       report_iar
report_done:
    mov     w0, #10
    bl      putc
    add     x19, x19, #1
    cmp     x19, #CORES
    b.ne    report_core

    adr     x0, phase
    mov     w1, #5
    stlr    w1, [x0]
    mov     x0, #CORES
    bl      wait_cores_off
    adr     x1, msg_done
    bl      puts
    adr     x1, exit_block
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000
    b       .

// A secondary: x0 = its core number (the context ID).
secondary:
    mov     x19, x0
    bl      gic_core_setup
    adr     x0, ready
    bl      atomic_inc
    adr     x20, phase
wait_phase3:
    ldar    w0, [x20]                       // SGIs 1 and 2 arrive meanwhile
    cmp     w0, #3
    b.lo    wait_phase3
    cmp     x19, #3
    b.ne    wait_phase4
    ldr     x0, =((1 << 16) | 3)            // core 3: SGI 3 to core 0
    ldr     x1, =GICD_BASE
    str     w0, [x1, #GICD_SGIR]
wait_phase4:
    ldar    w0, [x20]
    cmp     w0, #4
    b.lo    wait_phase4
    mov     x0, x19
    bl      timer_wait
wait_phase5:
    ldar    w0, [x20]
    cmp     w0, #5
    b.lo    wait_phase5
    ldr     x0, =PSCI_CPU_OFF
    smc     #0
    b       .

// Core x0 arms its CNTHP timer to fire after (x0 + 1) * 1000 ticks and waits in WFI until
// its handler has logged one more interrupt.
timer_wait:
    mov     x25, x30
    mov     x26, x0
    bl      logged
    add     x27, x0, #1
    add     x0, x26, #1
    mov     x1, #1000
    mul     x0, x0, x1
    msr     CNTHP_TVAL_EL2, x0
    mov     x0, #1
    msr     CNTHP_CTL_EL2, x0
    mov     x0, x26
    mov     x1, x27
    bl      wfi_until_logged
    ret     x25

// This core (x0) sleeps in WFI until it has logged at least x1 interrupts. IRQs are masked
// around the check so that one arriving between the check and the WFI still wakes it (WFI
// wakes on a pending interrupt, masked or not); it is taken once unmasked. Clobbers x0-x5.
wfi_until_logged:
    mov     x4, x0
    mov     x5, x30
    msr     DAIFSet, #2
wfi_check:
    mov     x0, x4
    bl      logged
    cmp     x0, x1
    b.hs    wfi_done
    wfi
    msr     DAIFClr, #2
    isb
    msr     DAIFSet, #2
    b       wfi_check
wfi_done:
    msr     DAIFClr, #2
    ret     x5

// x0 = number of interrupts core x0 has logged. Clobbers x2.
logged:
    adr     x2, counts
    add     x2, x2, x0, lsl #2
    ldar    w0, [x2]
    ret

// Spin until core x0 has logged at least x1 interrupts. Clobbers x0, x2-x4.
wait_logged:
    mov     x3, x0
    mov     x4, x30
wait_logged_loop:
    mov     x0, x3
    bl      logged
    cmp     x0, x1
    b.lo    wait_logged_loop
    ret     x4

// IRQ at EL2: acknowledge, log the IAR in this core's slots, stop the timer if it was the
// timer, end the interrupt.
irq_handler:
    stp     x0, x1, [sp, #-32]!
    stp     x2, x3, [sp, #16]
    ldr     x0, =GICC_BASE
    ldr     w1, [x0, #GICC_IAR]
    mrs     x2, MPIDR_EL1
    and     x2, x2, #0xff
    adr     x3, log
    add     x3, x3, x2, lsl #5
    stp     x4, x5, [sp, #-16]!
    adr     x4, counts
    add     x4, x4, x2, lsl #2
    ldr     w5, [x4]
    cmp     w5, #LOG_SLOTS
    b.hs    irq_full
    str     w1, [x3, x5, lsl #2]
    add     w5, w5, #1
    stlr    w5, [x4]
irq_full:
    ldp     x4, x5, [sp], #16
    and     w3, w1, #0x3ff
    cmp     w3, #26
    b.ne    irq_eoi
    msr     CNTHP_CTL_EL2, xzr
irq_eoi:
    str     w1, [x0, #GICC_EOIR]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp], #32
    eret

// Print IAR w0 as "ID" or "ID/from", in decimal. Clobbers x0-x3, x9.
print_iar:
    mov     x8, x30
    mov     w6, w0
    and     w0, w6, #0x3ff
    bl      print_dec
    ubfx    w7, w6, #10, #3
    and     w0, w6, #0x3ff
    cmp     w0, #16
    b.hs    print_iar_done
    mov     w0, #'/'
    bl      putc
    mov     w0, w7
    bl      print_dec
print_iar_done:
    ret     x8

// Print w0 (below 100) in decimal. Clobbers x0-x3, x9, x10.
print_dec:
    mov     x10, x30
    mov     w1, #10
    udiv    w3, w0, w1
    msub    w4, w3, w1, w0
    cbz     w3, print_dec_units
    add     w0, w3, #'0'
    bl      putc
print_dec_units:
    add     w0, w4, #'0'
    bl      putc
    ret     x10

.include "smp_lib.inc"
.include "smp_gic.inc"

msg_header: .asciz "sgi_timers: SGIs between four cores, then each core's own CNTHP timer\n"
msg_core:   .asciz "core "
msg_took:   .asciz " took:"
msg_done:   .asciz "cores 1-3 off\n"

    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
    .balign 64
counts:     .word 0, 0, 0, 0
    .balign 64
log:        .space CORES * LOG_SLOTS * 4
    .balign 64
ready:      .word 0
    .balign 64
phase:      .word 0
