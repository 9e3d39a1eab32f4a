// attacker_cores: a one-vCPU tenant that tries to reach cores it was not given (hypervisor v2).
// It asks PSCI, over HVC, to start vCPUs it does not have (by index, by another core's MPIDR, by
// another cluster's), and over SMC to start a physical core; asks AFFINITY_INFO about them; and
// sends SGIs to CPUs it does not have. Each answer is printed: none may start, stop or signal
// anything. Then it reads RAM outside its partition and is contained.

.include "board.inc"
.include "smccc.inc"
.include "gic.inc"

.equ SGI_ANY,           1
.equ SGIR_LIST_OTHERS,  (0xfe << 16) | SGI_ANY  // target list: CPU interfaces 1-7
.equ SGIR_ALL_OTHERS,   (1 << 24) | SGI_ANY     // TargetListFilter 1: every CPU but the writer
.equ OUTSIDE,           0x42000000              // an IPA past our RAM window
.equ ATTEMPT_SIZE,      24                      // a record of `attempts`

.include "include/tenant.inc"             // _start: the stack, then main

main:
    adr     x19, attempts
main_attempt:
    ldr     w0, [x19]                       // {function, x1, x2, label}: a zero function ends
    cbz     w0, main_sgis
    adr     x0, str_calling
    bl      puts
    ldr     x0, [x19, #16]
    bl      puts
    ldr     w0, [x19]
    ldr     w1, [x19, #4]
    ldr     w2, [x19, #8]
    adr     x3, main
    ldr     w9, [x19, #12]
    cbnz    w9, main_smc
    hvc     #0
    b       main_print
main_smc:
    smc     #0
main_print:
    bl      put_signed
    bl      newline
    add     x19, x19, #ATTEMPT_SIZE
    b       main_attempt
main_sgis:
    ldr     x20, =GICD_BASE
    adr     x0, str_sgi_list
    bl      puts
    ldr     w9, =SGIR_LIST_OTHERS
    str     w9, [x20, #GICD_SGIR]
    adr     x0, str_sgi_others
    bl      puts
    ldr     w9, =SGIR_ALL_OTHERS
    str     w9, [x20, #GICD_SGIR]
    adr     x0, str_still_here
    bl      puts
    ldr     x9, =OUTSIDE
    ldr     x0, [x9]                        // contained here
    adr     x0, str_not_contained
    bl      puts
    b       system_off

// put_signed: x0 = signed value in decimal.
put_signed:
    tbz     x0, #63, put_dec
    stp     x29, x30, [sp, #-32]!
    str     x19, [sp, #16]
    neg     x19, x0
    mov     x0, #'-'
    bl      putc
    mov     x0, x19
    bl      put_dec
    ldr     x19, [sp, #16]
    ldp     x29, x30, [sp], #32
    ret

// One record per attempt (ATTEMPT_SIZE bytes): function ID (w), x1 (w), x2 (w), 1 for SMC / 0 for
// HVC (w), and the address of its label (x).
    .balign 8
attempts:
    .word PSCI_CPU_ON_64, 1, 0, 0
    .quad str_vcpu1
    .word PSCI_CPU_ON_64, 0x80000003, 0, 0
    .quad str_core3
    .word PSCI_CPU_ON_64, 0x100, 0, 0
    .quad str_cluster1
    .word PSCI_CPU_ON_64, 0, 0, 0
    .quad str_itself
    .word PSCI_AFFINITY_INFO_64, 2, 0, 0
    .quad str_affinity2
    .word PSCI_AFFINITY_INFO_64, 0, 0, 0
    .quad str_affinity0
    .word PSCI_CPU_ON_64, 1, 0, 1
    .quad str_smc_core1
    .word 0, 0, 0, 0
    .quad 0

str_calling:            .asciz "PSCI "
str_vcpu1:              .asciz "CPU_ON of vCPU 1 (I have one): "
str_core3:              .asciz "CPU_ON of MPIDR 0x80000003: "
str_cluster1:           .asciz "CPU_ON of MPIDR 0x100 (cluster 1): "
str_itself:             .asciz "CPU_ON of myself: "
str_affinity2:          .asciz "AFFINITY_INFO of vCPU 2: "
str_affinity0:          .asciz "AFFINITY_INFO of myself: "
str_smc_core1:          .asciz "CPU_ON of core 1 over SMC: "
str_sgi_list:           .asciz "SGI 1 to CPUs 1-7\n"
str_sgi_others:         .asciz "SGI 1 to all other CPUs\n"
str_still_here:         .asciz "reading IPA 0x42000000, outside my RAM\n"
str_not_contained:      .asciz "NOT CONTAINED\n"
    .balign 4

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
