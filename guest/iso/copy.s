// copy: STREAM's Copy kernel, a[i] = b[i], over 1 MiB with LDP/STP, 64 bytes a turn; one
// iteration is one pass over the buffer. Both buffers lie in the tenant's RAM (4 MiB), so as a
// tenant every access goes through stage 2, and nothing traps.
.include "iso.inc"

.equ COPY_BYTES,        0x100000
.equ COPY_SRC,          TENANT_IPA_BASE + 0x100000
.equ COPY_DST,          TENANT_IPA_BASE + 0x200000

main:
    // The source holds its own doubleword index, so that a pass that copied nothing shows.
    ldr     x1, =COPY_SRC
    mov     x2, #0
    mov     x3, #(COPY_BYTES / 8)
copy_fill:
    str     x2, [x1], #8
    add     x2, x2, #1
    cmp     x2, x3
    b.lo    copy_fill
copy_pass:
    ldr     x0, =COPY_SRC
    ldr     x1, =COPY_DST
    mov     x2, #(COPY_BYTES / 64)
    COPY_LINES copy_line
    subs    x19, x19, #1
    b.ne    copy_pass
    // The result: the sum of the destination's doublewords (0 + 1 + ... + COPY_BYTES / 8 - 1).
    ldr     x1, =COPY_DST
    mov     x2, #(COPY_BYTES / 8)
    mov     x0, #0
copy_sum:
    ldr     x3, [x1], #8
    add     x0, x0, x3
    subs    x2, x2, #1
    b.ne    copy_sum
    b       iso_end

.include "iso_end.inc"
