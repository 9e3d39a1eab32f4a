// hvc: a hypervisor call that is answered at once, in a loop. As a tenant, HYP_TENANT_ID: an
// exception to EL2, the hypervisor's dispatch on the function ID, and its ERET (x0 = 0, the
// only tenant's index). Bare, with no EL2, the machine's own PSCI_VERSION: the emulator answers
// the HVC itself, in Python, without an exception entry (x0 = PSCI 1.1, 0x10001).
.include "iso.inc"

main:
    ldr     w21, =HYP_TENANT_ID
    ldr     w9, =PSCI_VERSION
    cmp     x20, #0
    csel    w21, w21, w9, eq
hvc_loop:
    mov     w0, w21
    hvc     #0
    subs    x19, x19, #1
    b.ne    hvc_loop
    b       iso_end                     // x0: the last answer

.include "iso_end.inc"
