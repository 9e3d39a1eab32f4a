// calls: the platform's PSCI as a bare-metal EL1 program sees it on QEMU virt without
// virtualization (the conduit is HVC, there is no EL2 or EL3). Each line is one call: the
// function ID, x1, x2 and what came back in x0. Then an SMC, which has no firmware behind it
// there and must be UNDEFINED, and a function ID that is not PSCI's. Ends with SYSTEM_OFF.
// Nothing printed depends on time. Built twice (images.toml): psci_calls for EL1 (HVC).

.include "board.inc"
.include "smccc.inc"

.include "../include/tenant.inc"          // _start: the stack, then main; puts, put_hex

main:
    ldr     x0, =vectors
    msr     vbar_el1, x0
    isb
    adr     x0, str_title
    bl      puts
    adr     x19, calls
call_next:
    ldp     x20, x21, [x19], #16            // function ID, x1
    ldr     x22, [x19], #8                  // x2
    cbz     x20, calls_done
    adr     x0, str_fid
    bl      puts
    mov     x0, x20
    bl      put_hex
    adr     x0, str_x1
    bl      puts
    mov     x0, x21
    bl      put_hex
    adr     x0, str_x2
    bl      puts
    mov     x0, x22
    bl      put_hex
    adr     x0, str_arrow
    bl      puts
    mov     x0, x20
    mov     x1, x21
    mov     x2, x22
    mov     x3, #0
    hvc     #0
    bl      put_hex
    bl      newline
    b       call_next
calls_done:
    adr     x0, str_smc
    bl      puts
    ldr     x0, =PSCI_VERSION
    smc     #0
    adr     x0, str_off
    bl      puts
    ldr     x0, =PSCI_SYSTEM_OFF
    hvc     #0
    adr     x0, str_returned
    bl      puts
    b       .

// The only exception expected: an UNDEFINED SMC or HVC. Print ESR_EL1, step over it.
el1_sync:
    stp     x0, x30, [sp, #-16]!
    adr     x0, str_undef
    bl      puts
    mrs     x0, esr_el1
    bl      put_hex
    bl      newline
    mrs     x0, elr_el1
    add     x0, x0, #4
    msr     elr_el1, x0
    ldp     x0, x30, [sp], #16
    eret

    .balign 0x800
vectors:
    .rept 4
    .balign 0x80
    b       .
    .endr
    .balign 0x80
    b       el1_sync
    .rept 11
    .balign 0x80
    b       .
    .endr

    .balign 8
calls:
    .quad   0x84000000, 0, 0                // PSCI_VERSION
    .quad   0x8400000a, 0x84000000, 0       // FEATURES(VERSION)
    .quad   0x8400000a, 0xc4000003, 0       // FEATURES(CPU_ON, SMC64)
    .quad   0x8400000a, 0x84000005, 0       // FEATURES(MIGRATE)
    .quad   0x8400000a, 0xc400000e, 0       // FEATURES(SYSTEM_SUSPEND)
    .quad   0x8400000a, 0x8400000a, 0       // FEATURES(FEATURES)
    .quad   0x84000006, 0, 0                // MIGRATE_INFO_TYPE
    .quad   0xc4000004, 0, 0                // AFFINITY_INFO(core 0, level 0)
    .quad   0xc4000004, 1, 0                // AFFINITY_INFO(core 1: not there)
    .quad   0xc4000004, 1, 1                // AFFINITY_INFO(level 1)
    .quad   0x84000004, 0x100000000, 0      // AFFINITY_INFO SMC32: x1 used whole
    .quad   0xc4000003, 0, 0x40000000       // CPU_ON(core 0): already on
    .quad   0xc4000003, 0x80000000, 0       // CPU_ON(MPIDR with the U bit): not a core
    .quad   0x84000005, 0, 0                // MIGRATE
    .quad   0x8400001f, 0, 0                // a PSCI ID nobody defines
    .quad   0x80000000, 0, 0                // SMCCC_VERSION: not PSCI's
    .quad   0x86000001, 0, 0                // a vendor hypervisor call: nobody there
    .quad   0, 0, 0

str_title:      .asciz "psci: calls through HVC at EL1\n"
str_fid:        .asciz "fid "
str_x1:         .asciz " x1 "
str_x2:         .asciz " x2 "
str_arrow:      .asciz " -> "
str_smc:        .asciz "smc PSCI_VERSION\n"
str_undef:      .asciz "undefined, ESR_EL1 "
str_off:        .asciz "SYSTEM_OFF\n"
str_returned:   .asciz "SYSTEM_OFF returned\n"

.include "../include/tenant_bss.inc"      // literals, __bss_start, the stack
