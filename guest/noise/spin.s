// spin: a busy tenant for the noise benchmark (guest/noise/detour.s). It computes without a break,
// never yields, traps or waits, so it takes every bit of core it is given: its time slice under the
// hypervisor (manifests/noise_sliced.toml), each run the primary gives it (manifests/noise_primary.toml).
// It reads the counter once every SPIN_BATCH iterations and ends with PSCI SYSTEM_OFF once
// `budget_us` of virtual time has passed since it started; budget_us = 0 ends it at once, which
// leaves the detour tenant alone with the scheduler.

.include "board.inc"
.include "smccc.inc"

.equ SPIN_BATCH,        1000

.include "../include/tenant.inc"

main:
    ldr     x9, budget_us
    mrs     x10, cntfrq_el0
    mul     x9, x9, x10
    ldr     x10, =1000000
    udiv    x9, x9, x10
    mrs     x20, cntvct_el0
    add     x20, x20, x9                    // the end
    mov     x19, #0                         // batches
    mov     x21, #0
spin_batch:
    mrs     x9, cntvct_el0
    cmp     x9, x20
    b.hs    spin_done
    mov     x10, #SPIN_BATCH
spin_loop:
    add     x21, x21, #3
    eor     x21, x21, x10
    subs    x10, x10, #1
    b.ne    spin_loop
    add     x19, x19, #1
    b       spin_batch
spin_done:
    adr     x0, str_done
    bl      puts
    mov     x0, x19
    bl      put_dec
    adr     x0, str_batches
    bl      puts
    b       system_off

str_done:               .asciz "done: "
str_batches:            .asciz " batches\n"
    .balign 8
budget_us:              .quad 110000    // the benchmark rewrites it

.include "../include/tenant_bss.inc"
