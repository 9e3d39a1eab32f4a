// attacker_timer: a tenant that reaches for the hypervisor's timer registers. Had any of these
// reached the timer model, it could shift the counter offset the hypervisor gives each tenant
// (CNTVOFF_EL2), open the physical timer to itself (CNTHCTL_EL2), or switch off the EL2 timer
// that preempts it (CNTHP_*) and keep the core; one such write once hung the emulator. Every
// access is UNDEFINED at EL1 (EC 0x00), taken by our own vectors (el1_undef.inc). Then the
// tenant spins for about 20 ms without yielding: the ticker beside it must keep ticking, because the
// hypervisor's time slice still preempts us.

.include "board.inc"
.include "smccc.inc"

.equ SPIN_ITERATIONS,   10000000

.include "include/tenant.inc"             // _start: the stack, then main
.include "include/el1_undef.inc"          // EL1 vectors that count and skip UNDEFINED instructions

main:
    EL1_UNDEF_VECTORS_INSTALL
    adr     x0, str_about
    bl      puts
    mov     x1, #0x1000
    msr     cntvoff_el2, x1
    msr     cnthctl_el2, xzr
    msr     cnthp_ctl_el2, xzr
    msr     cnthp_cval_el2, xzr
    msr     cnthp_tval_el2, xzr
    mrs     x2, cntvoff_el2
    mrs     x2, cnthctl_el2
    mrs     x2, cnthp_ctl_el2
    mrs     x2, cnthp_cval_el2
    mrs     x2, cnthp_tval_el2
    msr     cntfrq_el0, x1                  // writable only at the highest EL
    msr     S3_3_C14_C0_2, x1               // CNTVCT_EL0 is read-only
    bl      print_undef_count

    // Spin about 20 ms of virtual time (two instructions an iteration at one counter tick per
    // 16 instructions) without yielding, and without reading the counter.
    ldr     x9, =SPIN_ITERATIONS
spin:
    subs    x9, x9, #1
    b.ne    spin
    adr     x0, str_spun
    bl      puts
    b       system_off

str_about:              .asciz "touching the hypervisor's timer registers from EL1\n"
undef_what:             .asciz "timer register access"
str_refused:            .asciz "timer register accesses refused: "
str_spun:               .asciz "spun 20 ms without yielding\n"

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
