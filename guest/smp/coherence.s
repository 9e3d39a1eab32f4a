// coherence: one core's TLB and instruction-cache maintenance reaches another core.
//
// Run with two cores at EL2 (QEMU: -smp 2; emu: --smp 2). Both cores turn on their EL2 MMU
// with the same tables: 1 GiB blocks for devices and RAM, and VA 0x80000000 mapped by a
// level-2 table as one 2 MiB block of RAM.
//
//   1. Core 1 reads a word through VA 0x80000000 (its TLB now holds the translation). Core 0
//      points the block at other RAM, does DSB, TLBI ALLE2IS, DSB, and tells core 1, which
//      reads again: it must see the word behind the new translation.
//   2. Core 1 calls `patched` (`movz x0, #1; ret`; its translated code now exists). Core 0
//      writes `movz x0, #2` over the first instruction, does DC CVAU, DSB, IC IVAU, DSB, and
//      tells core 1, which calls it again: it must get 2.
//
// Core 1 writes what it saw into memory; core 0 prints it once core 1 is done.

.include "smp.inc"

.equ TABLES,                0x40380000      // level 1, then level 2 at +0x1000
.equ WINDOW_VA,             0x80000000
.equ BLOCK_A,               0x40400000      // what the window shows first
.equ BLOCK_B,               0x40600000      // and after the change
.equ TCR_VALUE,             0x80803519      // T0SZ=25, 4 KiB, Inner Shareable WB tables
.equ MAIR_VALUE,            0x00ff
.equ DEVICE_1G,             0x405           // AttrIndx 1, AF, block
.equ NORMAL_BLOCK,          0x701           // AttrIndx 0, Inner Shareable, AF, block
.equ TABLE_DESC,            0x3
.equ SCTLR_M_C_I,           0x1005
.equ MOVZ_X0_2,             0xd2800040

_start:
    ldr     x0, =STACK_TOP
    mov     sp, x0
    adr     x1, msg_header
    bl      puts
    // Tables: L1[0] devices, L1[1] RAM, L1[2] -> L2; L2[0] -> BLOCK_A.
    ldr     x0, =TABLES
    mov     x1, #1024
zero:
    str     xzr, [x0], #8
    subs    x1, x1, #1
    b.ne    zero
    ldr     x0, =TABLES
    ldr     x1, =DEVICE_1G
    str     x1, [x0]
    ldr     x1, =(RAM_BASE | NORMAL_BLOCK)
    str     x1, [x0, #8]
    ldr     x1, =((TABLES + 0x1000) | TABLE_DESC)
    str     x1, [x0, #16]
    ldr     x1, =(BLOCK_A | NORMAL_BLOCK)
    str     x1, [x0, #0x1000]
    ldr     x0, =BLOCK_A
    ldr     x1, =0xaaaa
    str     x1, [x0]
    ldr     x0, =BLOCK_B
    ldr     x1, =0xbbbb
    str     x1, [x0]
    bl      mmu_on

    ldr     x0, =PSCI_CPU_ON_64
    mov     x1, #1
    adr     x2, secondary
    mov     x3, #0
    smc     #0

    mov     w0, #1
    bl      wait_step                       // core 1 read the window once
    ldr     x0, =TABLES
    ldr     x1, =(BLOCK_B | NORMAL_BLOCK)
    str     x1, [x0, #0x1000]
    dsb     ish
    tlbi    alle2is
    dsb     ish
    isb
    mov     w0, #2
    bl      set_go

    mov     w0, #3
    bl      wait_step                       // core 1 called patched once
    adr     x3, patched
    ldr     w1, =MOVZ_X0_2
    str     w1, [x3]
    dc      cvau, x3
    dsb     ish
    ic      ivau, x3
    dsb     ish
    isb
    mov     w0, #4
    bl      set_go

    mov     w0, #5
    bl      wait_step
    adr     x19, seen
    ldr     x0, [x19]
    adr     x1, msg_before
    bl      print_named
    ldr     x0, [x19, #8]
    adr     x1, msg_after
    bl      print_named
    ldr     x0, [x19, #16]
    adr     x1, msg_call1
    bl      print_named
    ldr     x0, [x19, #24]
    adr     x1, msg_call2
    bl      print_named
    adr     x1, exit_block
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000
    b       .

secondary:
    ldr     x0, =(STACK_TOP - 0x1000)
    mov     sp, x0
    bl      mmu_on
    adr     x19, seen
    ldr     x20, =WINDOW_VA
    ldr     x0, [x20]
    str     x0, [x19]
    mov     w0, #1
    bl      set_step
    mov     w0, #2
    bl      wait_go
    ldr     x0, [x20]
    str     x0, [x19, #8]
    bl      patched
    str     x0, [x19, #16]
    mov     w0, #3
    bl      set_step
    mov     w0, #4
    bl      wait_go
    bl      patched
    str     x0, [x19, #24]
    mov     w0, #5
    bl      set_step
    ldr     x0, =PSCI_CPU_OFF
    smc     #0
    b       .

mmu_on:
    ldr     x0, =MAIR_VALUE
    msr     MAIR_EL2, x0
    ldr     x0, =TCR_VALUE
    msr     TCR_EL2, x0
    ldr     x0, =TABLES
    msr     TTBR0_EL2, x0
    dsb     ish
    tlbi    alle2
    dsb     ish
    isb
    mrs     x0, SCTLR_EL2
    ldr     x1, =SCTLR_M_C_I
    orr     x0, x0, x1
    msr     SCTLR_EL2, x0
    isb
    ret

// Core 1 -> core 0: `step` = w0. Core 0 waits for it.
set_step:
    adr     x1, step
    stlr    w0, [x1]
    ret
wait_step:
    adr     x1, step
wait_step_loop:
    ldar    w2, [x1]
    cmp     w2, w0
    b.ne    wait_step_loop
    ret
// Core 0 -> core 1: `go` = w0. Core 1 waits for it.
set_go:
    adr     x1, go
    stlr    w0, [x1]
    ret
wait_go:
    adr     x1, go
wait_go_loop:
    ldar    w2, [x1]
    cmp     w2, w0
    b.ne    wait_go_loop
    ret

.include "smp_lib.inc"

    .balign 64
patched:
    movz    x0, #1
    ret

msg_header: .asciz "coherence: TLBI ALLE2IS and IC IVAU on core 0 reach core 1\n"
msg_before: .asciz "core 1 read the window: "
msg_after:  .asciz "after core 0 remapped it: "
msg_call1:  .asciz "core 1 called patched: "
msg_call2:  .asciz "after core 0 patched it: "

    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
    .balign 64
seen:       .quad 0, 0, 0, 0
    .balign 64
step:       .word 0
    .balign 64
go:         .word 0
