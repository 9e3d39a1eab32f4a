// resize: the manager tenant grows itself by 2 MiB from the hypervisor's pool and gives the
// region back, once an iteration (manifests/iso_resize_tenant.toml: pool = 0x200000, manager =
// true; docs/dynamic.md). Each turn is four calls: HYP_MEM_GRANT, HYP_MSG_RECV (HYP_MSG_GRANTED),
// HYP_MEM_RELEASE, HYP_MSG_RECV (HYP_MSG_RELEASED): the messages are read as a manager reads
// them, so its queue never fills. The hypervisor maps the region, then on release unmaps it,
// invalidates the TLBs, scrubs it line by line and prints a line for each call.
//
// Bare there is nobody to ask: a kernel that takes 2 MiB of its own free RAM at least zeroes it,
// so the bare run zeroes the same 2 MiB with the same stores as the hypervisor's scrub.
// The result is 0 when every call returned 0 and every message was the one expected.
.include "iso.inc"

.equ REGION_IPA,        TENANT_IPA_BASE + 0x200000      // right after the tenant's 2 MiB
.equ REGION_BYTES,      0x200000
.equ CACHE_LINE_BYTES,  64

main:
    mov     x22, #0                     // what went wrong: ORed
    cbnz    x20, bare_loop
    ldr     w0, =HYP_TENANT_ID
    hvc     #0
    mov     x23, x0                     // ourselves
resize_loop:
    ldr     w0, =HYP_MEM_GRANT
    mov     x1, x23
    ldr     x2, =REGION_IPA
    mov     x3, #REGION_BYTES
    hvc     #0
    orr     x22, x22, x0
    ldr     w0, =HYP_MSG_RECV
    hvc     #0
    eor     x0, x0, #HYP_MSG_GRANTED
    orr     x22, x22, x0
    ldr     w0, =HYP_MEM_RELEASE
    ldr     x1, =REGION_IPA
    hvc     #0
    orr     x22, x22, x0
    ldr     w0, =HYP_MSG_RECV
    hvc     #0
    eor     x0, x0, #HYP_MSG_RELEASED
    orr     x22, x22, x0
    subs    x19, x19, #1
    b.ne    resize_loop
    mov     x0, x22
    b       iso_end

bare_loop:
    ldr     x1, =REGION_IPA
    add     x2, x1, #REGION_BYTES
bare_zero:
    stp     xzr, xzr, [x1]
    stp     xzr, xzr, [x1, #16]
    stp     xzr, xzr, [x1, #32]
    stp     xzr, xzr, [x1, #48]
    add     x1, x1, #CACHE_LINE_BYTES
    cmp     x1, x2
    b.lo    bare_zero
    subs    x19, x19, #1
    b.ne    bare_loop
    mov     x0, x22
    b       iso_end

.include "iso_end.inc"
