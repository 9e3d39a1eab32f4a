// pair: a tenant with two vCPUs that share one counter under a spinlock (hypervisor v2, cores).
// vCPU 0 starts vCPU 1 with PSCI CPU_ON, waits until it is up, wakes it with a virtual SGI, and
// both add ITERATIONS each to the counter, every increment a plain load and store inside an
// LDAXR/STXR lock that waits with WFE. vCPU 1 then turns itself off with CPU_OFF; vCPU 0 waits
// until AFFINITY_INFO says so and prints the total, 2 * ITERATIONS only if the lock held on both
// cores. Every line is ordered by the program itself (a flag, the SGI, AFFINITY_INFO), so the
// transcript is the same whatever the interleaving of the cores.
// Manifest: cores = [a, b], two distinct cores (manifests/smp.toml).

.include "board.inc"
.include "smccc.inc"
.include "gic.inc"

.equ ITERATIONS,        2000
.equ SGI_GO,            3
.equ VCPU1,             1               // MPIDR_EL1.Aff0 of vCPU 1, as PSCI names it
.equ CONTEXT_ID,        0xc0ffee
.equ SGIR_TO_VCPU1,     (1 << (16 + VCPU1)) | SGI_GO    // target list: CPU interface 1
.equ INTID_MASK,        0x3ff

.include "include/tenant.inc"             // _start: the stack, then main
    TENANT_IRQ_ROUTINES

main:
    bl      gic_cpu_init                    // the distributor (the tenant's) and our own GICC
    adr     x0, str_starting
    bl      puts
    ldr     w0, =PSCI_CPU_ON_64
    mov     x1, #VCPU1
    adr     x2, secondary
    ldr     x3, =CONTEXT_ID
    hvc     #0
    mov     x19, x0
    cbnz    x19, main_cpu_on_failed
main_wait_up:
    ldr     x9, =vcpu1_ready
    ldar    x10, [x9]
    cbz     x10, main_wait_up
    adr     x0, str_cpu_on_returned         // printed only now: vCPU 1 prints as soon as it starts
    bl      puts
    mov     x0, x19
    bl      put_dec
    adr     x0, str_signalling
    bl      puts
    ldr     x9, =GICD_BASE
    ldr     w10, =SGIR_TO_VCPU1
    str     w10, [x9, #GICD_SGIR]
    bl      work
main_wait_off:
    ldr     w0, =PSCI_AFFINITY_INFO_64
    mov     x1, #VCPU1
    mov     x2, #0
    hvc     #0
    cmp     x0, #PSCI_AFFINITY_OFF
    b.ne    main_wait_off
    adr     x0, str_total
    bl      puts
    ldr     x9, =counter
    ldr     x0, [x9]
    bl      put_dec
    adr     x0, str_of
    bl      puts
    mov     x0, #(2 * ITERATIONS)
    bl      put_dec
    bl      newline
    b       system_off
main_cpu_on_failed:
    adr     x0, str_cpu_on_returned
    bl      puts
    mov     x0, x19
    bl      put_dec
    bl      newline
    b       system_off

// secondary: vCPU 1's first instruction, x0 = the context ID given to CPU_ON. Its own stack, its
// own GICC (the CPU interface is banked per vCPU), then it waits in WFI for vCPU 0's SGI.
secondary:
    ldr     x9, =stack1_top
    mov     sp, x9
    mov     x19, x0
    adr     x0, str_up
    bl      puts
    mov     x0, x19
    bl      put_hex
    adr     x0, str_mpidr
    bl      puts
    mrs     x0, mpidr_el1
    bl      put_hex
    bl      newline
    ldr     x9, =GICC_BASE
    mov     w10, #TENANT_GIC_PMR
    str     w10, [x9, #GICC_PMR]
    mov     w10, #GICC_CTLR_ENABLE
    str     w10, [x9, #GICC_CTLR]
    ldr     x9, =vcpu1_ready
    mov     x10, #1
    stlr    x10, [x9]
secondary_wait:
    wfi                                     // IRQs are masked: the SGI wakes it, taken by polling
    ldr     x9, =GICC_BASE
    ldr     w20, [x9, #GICC_IAR]
    and     w21, w20, #INTID_MASK
    cmp     w21, #GIC_SPURIOUS
    b.eq    secondary_wait
    str     w20, [x9, #GICC_EOIR]
    adr     x0, str_got_sgi
    bl      puts
    mov     x0, x21
    bl      put_dec
    bl      newline
    bl      work
    ldr     w0, =PSCI_CPU_OFF
    hvc     #0
secondary_returned:                         // CPU_OFF does not return
    b       secondary_returned

// work: ITERATIONS increments of the shared counter, each under the lock.
work:
    stp     x29, x30, [sp, #-32]!
    str     x19, [sp, #16]
    mov     x19, #ITERATIONS
work_next:
    bl      lock
    ldr     x9, =counter
    ldr     x10, [x9]
    add     x10, x10, #1
    str     x10, [x9]
    bl      unlock
    subs    x19, x19, #1
    b.ne    work_next
    ldr     x19, [sp, #16]
    ldp     x29, x30, [sp], #32
    ret

// lock / unlock: a test-and-set spinlock; a waiter sleeps in WFE. The hypervisor asks for WFE to
// trap (HCR_EL2.TWE) and would take it as a yield, but QEMU 7.2 and Unicorn never trap WFE: it
// ends the core's turn here (docs/smp.md), and the lock holder's release wakes the waiter.
lock:
    ldr     x9, =lock_word
    mov     w10, #1
lock_try:
    ldaxr   w11, [x9]
    cbnz    w11, lock_wait
    stxr    w11, w10, [x9]
    cbnz    w11, lock_try
    ret
lock_wait:
    wfe
    b       lock_try

unlock:
    ldr     x9, =lock_word
    stlr    wzr, [x9]
    ret

str_starting:           .asciz "vCPU 0: starting vCPU 1\n"
str_cpu_on_returned:    .asciz "vCPU 0: CPU_ON returned "
str_signalling:         .asciz " and vCPU 1 is up; signalling it with SGI 3\n"
str_total:              .asciz "vCPU 0: vCPU 1 is off; counter "
str_of:                 .asciz " of "
str_up:                 .asciz "vCPU 1: up, context "
str_mpidr:              .asciz ", MPIDR_EL1 "
str_got_sgi:            .asciz "vCPU 1: took SGI "
    .balign 4

.include "include/tenant_bss.inc"         // literals, __bss_start, vCPU 0's stack
stack1:                 .space 0x1000
stack1_top:
vcpu1_ready:            .quad 0
lock_word:              .quad 0
counter:                .quad 0
