// compute: the ALU loop of guest/bench/compute.s, four instructions an iteration and no memory
// traffic. Alone or a tenant, nothing in it leaves EL1: the ratio is what stage 2 and the
// hypervisor's presence cost code that never traps (nothing, unless the hypervisor takes the core).
.include "iso.inc"

main:
    mov     x0, x19
    mov     x1, #0
    mov     x2, #0
compute_loop:
    add     x1, x1, #3
    eor     x2, x2, x1
    subs    x0, x0, #1
    b.ne    compute_loop
    mov     x0, x2
    b       iso_end

.include "iso_end.inc"
