// random: HPCC RandomAccess's update, T[r mod size] ^= r, with r from xorshift64 (Marsaglia's
// 13, 7, 17); one iteration is one update of a 1 MiB table (2^17 doublewords), so most accesses
// miss the previous one's page. As a tenant every access goes through stage 2, and nothing traps.
.include "iso.inc"

.equ TABLE,             TENANT_IPA_BASE + 0x100000
.equ TABLE_LOG2,        17              // doublewords
.equ XORSHIFT_SEED,     0x2545f4914f6cdd1d

main:
    ldr     x4, =TABLE
    mov     x1, x4
    mov     x2, #(1 << TABLE_LOG2) / 8
random_zero:                            // RAM is zero at reset; a reused machine's may not be
    stp     xzr, xzr, [x1]
    stp     xzr, xzr, [x1, #16]
    stp     xzr, xzr, [x1, #32]
    stp     xzr, xzr, [x1, #48]
    add     x1, x1, #64
    subs    x2, x2, #1
    b.ne    random_zero
    ldr     x1, =XORSHIFT_SEED
random_update:
    eor     x1, x1, x1, lsl #13
    eor     x1, x1, x1, lsr #7
    eor     x1, x1, x1, lsl #17
    ubfx    x2, x1, #0, #TABLE_LOG2
    ldr     x3, [x4, x2, lsl #3]
    eor     x3, x3, x1
    str     x3, [x4, x2, lsl #3]
    subs    x19, x19, #1
    b.ne    random_update
    // The result: the XOR of the table, which is the XOR of every r (each went into one slot).
    mov     x1, x4
    mov     x2, #(1 << TABLE_LOG2)
    mov     x0, #0
random_sum:
    ldr     x3, [x1], #8
    eor     x0, x0, x3
    subs    x2, x2, #1
    b.ne    random_sum
    b       iso_end

.include "iso_end.inc"
