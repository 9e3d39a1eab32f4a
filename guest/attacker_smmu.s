// attacker_smmu: a tenant with TOE sessions tries to turn the SMMU off (CR0 at 0x09050020), which
// would let the TOE's DMA for it reach any memory. The SMMU is in no tenant's stage 2: the write
// faults to the hypervisor, which contains the tenant. (The TOE's management page cannot even be
// named: the tenant's TOE window at 0x0b000000 starts with its own session 0.)

.include "board.inc"
.include "smccc.inc"
.include "smmu.inc"

.include "include/tenant.inc"             // _start: the stack, then main

main:
    adr     x0, str_writing
    bl      puts
    ldr     x9, =SMMU_BASE
    str     wzr, [x9, #SMMU_CR0]            // contained here
    adr     x0, str_not_contained
    bl      puts
    b       system_off

str_writing:            .asciz "writing 0 to the SMMU's CR0\n"
str_not_contained:      .asciz "NOT CONTAINED\n"
    .balign 4

.include "include/tenant_bss.inc"
