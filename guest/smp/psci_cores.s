// psci_cores: four cores brought up with PSCI, counting together with LDXR/STXR.
//
// Run with four cores (QEMU: -smp 4; emu: --smp 4), booted at EL2, so the PSCI conduit is SMC.
// Core 0 starts cores 1-3 with CPU_ON (entry `secondary`, context ID 0x100 + N) and checks the
// answers for a core that is already on and for one that does not exist. Every core then adds
// 1 to a shared counter COUNT_PER_CORE times with a load-/store-exclusive loop; none may lose
// an increment. The secondaries print, in core order (a turn variable orders them; what they
// print does not depend on timing), their MPIDR_EL1, the x0 they started with and CurrentEL,
// then turn themselves off with CPU_OFF. Core 0 waits until AFFINITY_INFO says each is off and
// prints the total.

.include "smp.inc"

.equ CORES,                 4
.equ COUNT_PER_CORE,        20000

_start:
    ldr     x0, =STACK_TOP
    mov     sp, x0
    adr     x1, msg_header
    bl      puts
    mrs     x0, MPIDR_EL1
    adr     x1, msg_mpidr0
    bl      print_named

    // CPU_ON for cores 1-3, then for core 0 (on: ALREADY_ON) and core 7 (no such core).
    mov     x19, #1
on_loop:
    ldr     x0, =PSCI_CPU_ON_64
    mov     x1, x19
    adr     x2, secondary
    add     x3, x19, #0x100
    smc     #0
    adr     x1, msg_cpu_on
    bl      print_named
    add     x19, x19, #1
    cmp     x19, #CORES
    b.ne    on_loop
    ldr     x0, =PSCI_CPU_ON_64
    mov     x1, #0
    adr     x2, secondary
    mov     x3, #0
    smc     #0
    adr     x1, msg_again
    bl      print_named
    ldr     x0, =PSCI_CPU_ON_64
    mov     x1, #7
    adr     x2, secondary
    mov     x3, #0
    smc     #0
    adr     x1, msg_bad
    bl      print_named

    // Wait until every secondary runs, then ask AFFINITY_INFO about each core.
    adr     x20, alive
wait_alive:
    ldr     w0, [x20]
    cmp     w0, #(CORES - 1)
    b.ne    wait_alive
    mov     x19, #0
affinity_on_loop:
    ldr     x0, =PSCI_AFFINITY_INFO_64
    mov     x1, x19
    mov     x2, #0
    smc     #0
    adr     x1, msg_affinity
    bl      print_named
    add     x19, x19, #1
    cmp     x19, #CORES
    b.ne    affinity_on_loop

    // Everyone counts.
    adr     x0, go
    mov     w1, #1
    stlr    w1, [x0]
    bl      count
    adr     x20, done
wait_done:
    ldr     w0, [x20]
    cmp     w0, #(CORES - 1)
    b.ne    wait_done

    // The secondaries report in order, then turn off.
    adr     x20, turn
    mov     w0, #1
    stlr    w0, [x20]
wait_turns:
    ldar    w0, [x20]
    cmp     w0, #CORES
    b.ne    wait_turns
    mov     x0, #CORES
    bl      wait_cores_off
    adr     x1, msg_all_off
    bl      puts
    adr     x0, counter
    ldr     x0, [x0]
    adr     x1, msg_count
    bl      print_named

    adr     x1, exit_block
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000
    b       .

// A secondary: x0 = its context ID.
secondary:
    mov     x21, x0
    mrs     x22, MPIDR_EL1
    and     x23, x22, #0xff                 // core number
    ldr     x0, =STACK_TOP
    sub     x0, x0, x23, lsl #12
    mov     sp, x0
    adr     x0, alive
    bl      atomic_inc
    adr     x0, go
wait_go:
    ldar    w1, [x0]
    cbz     w1, wait_go
    bl      count
    adr     x0, done
    bl      atomic_inc
    adr     x20, turn
wait_turn:
    ldar    w0, [x20]
    cmp     w0, w23
    b.ne    wait_turn
    mov     x0, x22
    adr     x1, msg_mpidr
    bl      print_named
    mov     x0, x21
    adr     x1, msg_context
    bl      print_named
    mrs     x0, CurrentEL
    adr     x1, msg_el
    bl      print_named
    add     w0, w23, #1
    stlr    w0, [x20]
    ldr     x0, =PSCI_CPU_OFF
    smc     #0
    adr     x1, msg_off_returned            // CPU_OFF does not return
    bl      puts
    b       .

// Add 1 to the shared counter COUNT_PER_CORE times with LDXR/STXR. Clobbers x0-x3.
count:
    adr     x0, counter
    ldr     x3, =COUNT_PER_CORE
count_loop:
    ldxr    x1, [x0]
    add     x1, x1, #1
    stxr    w2, x1, [x0]
    cbnz    w2, count_loop
    subs    x3, x3, #1
    b.ne    count_loop
    ret

.include "smp_lib.inc"

msg_header:         .asciz "psci_cores: CPU_ON three secondaries, count with LDXR/STXR, CPU_OFF\n"
msg_mpidr0:         .asciz "core 0 MPIDR_EL1="
msg_cpu_on:         .asciz "CPU_ON -> "
msg_again:          .asciz "CPU_ON core 0 (on) -> "
msg_bad:            .asciz "CPU_ON core 7 (none) -> "
msg_affinity:       .asciz "AFFINITY_INFO -> "
msg_mpidr:          .asciz "secondary MPIDR_EL1="
msg_context:        .asciz "  x0 at entry="
msg_el:             .asciz "  CurrentEL="
msg_off_returned:   .asciz "CPU_OFF returned\n"
msg_all_off:        .asciz "AFFINITY_INFO: cores 1-3 off\n"
msg_count:          .asciz "counter="

    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
    .balign 64
counter:    .quad 0
    .balign 64
alive:      .word 0
    .balign 64
go:         .word 0
    .balign 64
done:       .word 0
    .balign 64
turn:       .word 0
