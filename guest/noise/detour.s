// detour: the "selfish detour" benchmark (Beckman et al.; the Hafnium and Kitten papers' noise
// figure). The tenant reads the virtual counter (CNTVCT_EL0) in a tight loop; whenever two
// consecutive reads are further apart than THRESHOLD_FACTOR times the loop's own cost, something
// else had the core in between (the hypervisor's tick, another tenant, a primary's scheduling),
// and the tenant records that detour: when it started and how long it took, in counter ticks.
// After `budget_us` of virtual time from its first read it prints a summary and ends with PSCI
// SYSTEM_OFF.
//
// The loop's cost is calibrated first, the least of CALIBRATE_ROUNDS rounds of the same eight
// instructions (a detour in one round does not inflate it). In deterministic time the core runs
// one instruction a nanosecond and the counter ticks every 16, so the loop costs half a tick and the
// threshold is 2 ticks (32 ns): a gap of 3 ticks is a detour, and anything that takes the core for
// more than about 40 instructions is seen.
//
// What the benchmark reads back from RAM (emu/bench_noise.py): `summary` (SUM_* below) and the
// first SUM_RECORDED entries of `detours`, each two doublewords: the detour's start, in ticks
// since the first read, and its length in ticks. Runs under the hypervisor's time slice
// (manifests/noise_sliced.toml) and under a primary that schedules (manifests/noise_primary.toml).

.include "board.inc"
.include "smccc.inc"

.equ MAX_DETOURS,       4096            // entries of `detours`; more are counted, not recorded
.equ CALIBRATE_SHIFT,   12
.equ CALIBRATE_READS,   (1 << CALIBRATE_SHIFT)
.equ CALIBRATE_ROUNDS,  4
.equ THRESHOLD_FACTOR,  4

// summary: doublewords at these offsets.
.equ SUM_READS,         0x00            // counter reads in the measured loop
.equ SUM_SPAN,          0x08            // ticks from the first read to the last
.equ SUM_DETOURS,       0x10            // detours seen
.equ SUM_TOTAL,         0x18            // their ticks, summed
.equ SUM_LARGEST,       0x20            // the longest, in ticks
.equ SUM_THRESHOLD,     0x28            // a gap of more ticks than this is a detour
.equ SUM_RECORDED,      0x30            // entries written to `detours` (at most MAX_DETOURS)
.equ SUM_LOOP_TICKS,    0x38            // the calibrated loop: ticks per CALIBRATE_READS reads
.equ SUM_BYTES,         0x40

.include "../include/tenant.inc"

main:
    // Calibrate: x23 = the fewest ticks CALIBRATE_READS reads took.
    mov     x23, #-1
    mov     x24, #CALIBRATE_ROUNDS
    mov     x21, #-1                        // threshold: never, while calibrating
calibrate_round:
    mov     x4, #CALIBRATE_READS
    mov     x6, #0
    mrs     x1, cntvct_el0
    mov     x5, x1
calibrate_loop:                             // the instructions of detour_loop
    mrs     x2, cntvct_el0
    sub     x3, x2, x1
    mov     x1, x2
    cmp     x3, x21
    b.hi    calibrate_loop                  // never taken
    add     x6, x6, #1
    cmp     x6, x4
    b.lo    calibrate_loop
    sub     x3, x1, x5
    cmp     x3, x23
    csel    x23, x3, x23, lo
    subs    x24, x24, #1
    b.ne    calibrate_round
    // threshold = ceil(THRESHOLD_FACTOR * ticks per read), at least one tick
    mov     x9, #THRESHOLD_FACTOR
    mul     x9, x23, x9
    add     x9, x9, #(CALIBRATE_READS - 1)
    lsr     x21, x9, #CALIBRATE_SHIFT       // / CALIBRATE_READS
    cmp     x21, #1
    csinc   x21, x21, xzr, hs
    // budget_us in ticks: x22 = the counter value at which the measurement ends
    ldr     x9, budget_us
    mrs     x10, cntfrq_el0
    mul     x9, x9, x10
    ldr     x10, =1000000
    udiv    x9, x9, x10
    adr     x19, detours
    mov     x24, #0                         // reads
    mov     x25, #0                         // detours
    mov     x26, #0                         // their total
    mov     x27, #0                         // the largest
    mrs     x1, cntvct_el0
    mov     x20, x1                         // the first read: time 0
    add     x22, x1, x9
detour_loop:
    mrs     x2, cntvct_el0
    sub     x3, x2, x1
    mov     x1, x2
    cmp     x3, x21
    b.hi    detour_record
detour_next:
    add     x24, x24, #1
    cmp     x2, x22
    b.lo    detour_loop
    b       detour_done
detour_record:
    cmp     x25, #MAX_DETOURS
    b.hs    detour_count
    sub     x9, x2, x3                      // the read before the detour
    sub     x9, x9, x20
    add     x10, x19, x25, lsl #4
    stp     x9, x3, [x10]
detour_count:
    add     x25, x25, #1
    add     x26, x26, x3
    cmp     x3, x27
    csel    x27, x3, x27, hi
    b       detour_next

detour_done:
    sub     x28, x1, x20                    // the span
    adr     x9, summary
    stp     x24, x28, [x9, #SUM_READS]
    stp     x25, x26, [x9, #SUM_DETOURS]
    stp     x27, x21, [x9, #SUM_LARGEST]
    mov     x10, #MAX_DETOURS
    cmp     x25, x10
    csel    x10, x25, x10, lo
    stp     x10, x23, [x9, #SUM_RECORDED]
    // "N reads in S us, threshold T ns: D detours, total X ns, largest L ns"
    mov     x0, x24
    bl      put_dec
    adr     x0, str_reads
    bl      puts
    mov     x0, x28
    bl      put_ticks_us
    adr     x0, str_threshold
    bl      puts
    mov     x0, x21
    bl      ticks_to_ns
    bl      put_dec
    adr     x0, str_detours
    bl      puts
    mov     x0, x25
    bl      put_dec
    adr     x0, str_total
    bl      puts
    mov     x0, x26
    bl      ticks_to_ns
    bl      put_dec
    adr     x0, str_largest
    bl      puts
    mov     x0, x27
    bl      ticks_to_ns
    bl      put_dec
    adr     x0, str_ns
    bl      puts
    b       system_off

// ticks_to_ns: x0 = counter ticks. x0 = nanoseconds (CNTFRQ_EL0).
ticks_to_ns:
    ldr     x9, =1000000000
    mul     x0, x0, x9
    mrs     x9, cntfrq_el0
    udiv    x0, x0, x9
    ret

// put_ticks_us: x0 = counter ticks, printed in whole microseconds.
put_ticks_us:
    stp     x29, x30, [sp, #-16]!
    bl      ticks_to_ns
    mov     x9, #1000
    udiv    x0, x0, x9
    bl      put_dec
    ldp     x29, x30, [sp], #16
    ret

str_reads:              .asciz " reads in "
str_threshold:          .asciz " us, threshold "
str_detours:            .asciz " ns: "
str_total:              .asciz " detours, total "
str_largest:            .asciz " ns, largest "
str_ns:                 .asciz " ns\n"
    .balign 8
budget_us:              .quad 100000    // the benchmark rewrites it

.include "../include/tenant_bss.inc"
summary:                .space SUM_BYTES
detours:                .space MAX_DETOURS * 16
