// scheduler: the primary of manifests/noise_primary.toml, a scheduler as small as one can be. It runs
// the detour tenant (guest/noise/detour.s) and the busy one (guest/noise/spin.s) round robin with
// FF-A's FFA_RUN (docs/dynamic.md "A primary that schedules"), each for `slice_us` of virtual time:
// before each FFA_RUN it arms its own virtual timer that far ahead, and the hypervisor, which keeps
// that deadline on CNTHP while a secondary runs, gives the core back with FFA_INTERRUPT when it
// passes. The primary then takes its timer interrupt (unmasking IRQs for a moment: the handler stops
// the timer, so its level goes down before the EOI) and runs the next one. A secondary FFA_RUN
// cannot run (FFA_ERROR: ABORTED once it has ended; INVALID_PARAMETERS if there is none, as in
// manifests/noise_primary_alone.toml) is not run again; when the detour tenant has ended, the
// primary prints what it did and powers off, which ends the system.
//
// This is the primary's share of every detour the detour tenant sees: the FFA_RUN that returns
// to it, its interrupt, its choice, and the FFA_RUN that leaves it.

.include "board.inc"
.include "smccc.inc"
.include "gic.inc"

.equ DETOUR,            2               // vm_ids: tenant index + 1
.equ SPIN,              3
.equ TIMER_PRIORITY,    0x80

.include "../include/tenant.inc"
    TENANT_IRQ_ROUTINES

main:
    EL1_IRQ_SETUP INTID_VIRT_TIMER, TIMER_PRIORITY
    ldr     x0, slice_us
    mov     x9, #1000
    mul     x0, x0, x9                      // ns
    mrs     x9, cntfrq_el0
    mul     x0, x0, x9
    ldr     x9, =1000000000
    udiv    x22, x0, x9                     // the slice in ticks
    mov     x23, #0                         // FFA_RUN calls
    mov     x24, #0                         // ... that came back with FFA_INTERRUPT
    mov     x26, #0                         // ... with anything else but FFA_ERROR
    mov     x25, #((1 << DETOUR) | (1 << SPIN))     // who is still there
round:
    mov     x0, #DETOUR
    bl      run_slice
    mov     x0, #SPIN
    bl      run_slice
    tbnz    x25, #DETOUR, round
    // "R runs: P preempted by our timer (I interrupts taken), O other returns"
    mov     x0, x23
    bl      put_dec
    adr     x0, str_runs
    bl      puts
    mov     x0, x24
    bl      put_dec
    adr     x0, str_preempted
    bl      puts
    ldr     x0, timer_irqs
    bl      put_dec
    adr     x0, str_taken
    bl      puts
    mov     x0, x26
    bl      put_dec
    adr     x0, str_other
    bl      puts
    b       system_off

// run_slice: x0 = vm_id. If it is still there: our timer slice_us ahead, FFA_RUN of its vCPU 0,
// and what came back dealt with. Clobbers x0-x15, x19-x20.
run_slice:
    mov     x19, x0
    mov     x9, #1
    lsl     x9, x9, x19
    tst     x25, x9
    b.eq    run_slice_skip
    mov     x20, x30
    bl      counter_now
    add     x0, x0, x22
    bl      timer_arm_at
    ldr     w0, =FFA_RUN
    lsl     x1, x19, #16
    hvc     #0
    add     x23, x23, #1
    ldr     w9, =FFA_INTERRUPT
    cmp     w0, w9
    b.eq    run_slice_preempted
    mov     x21, x0
    bl      timer_stop
    ldr     w9, =FFA_ERROR
    cmp     w21, w9
    b.eq    run_slice_ended
    add     x26, x26, #1                    // a yield or a wait: its turn is over all the same
    ret     x20
run_slice_preempted:
    add     x24, x24, #1
    msr     daifclr, #2                     // our timer's interrupt, pending: taken here
    isb
    msr     daifset, #2
    ret     x20
run_slice_ended:
    mov     x9, #1
    lsl     x9, x9, x19
    bic     x25, x25, x9
    ret     x20
run_slice_skip:
    ret

// noise_irq: w0 = INTID. Our timer: stopped, and counted.
noise_irq:
    cmp     w0, #INTID_VIRT_TIMER
    b.ne    noise_irq_done
    adr     x9, timer_irqs
    ldr     x10, [x9]
    add     x10, x10, #1
    str     x10, [x9]
    b       timer_stop
noise_irq_done:
    ret

    EL1_IRQ_ENTRY noise_irq_entry, noise_irq

str_runs:               .asciz " runs: "
str_preempted:          .asciz " preempted by our timer ("
str_taken:              .asciz " interrupts taken), "
str_other:              .asciz " other returns\n"
    .balign 8
slice_us:               .quad 1000      // the benchmark may rewrite it
timer_irqs:             .quad 0

    EL1_VECTORS noise_irq_entry

.include "../include/tenant_bss.inc"
