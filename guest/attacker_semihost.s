// attacker_semihost: a tenant that reaches for the host through Arm semihosting (HLT #0xF000),
// which is a debug channel of the machine's boot EL, not of a tenant. Each call below was once
// served by the emulator for an EL1 tenant; now each HLT must be UNDEFINED (halting debug is
// disabled) and taken by this tenant's own EL1 vectors, which report it and step over it:
//   1. SYS_WRITE0 of a forged, untagged hypervisor line;
//   2. SYS_WRITE of 14.6 MB starting at our own RAM (which ran on into other tenants' RAM);
//   3. SYS_WRITE with a length of 2^62;
//   4. SYS_WRITE0 through a pointer nothing maps;
//   5. SYS_EXIT with our own exit code for the whole machine.
// Run with semihosting allowed below the boot EL (the user's opt-in), the calls are honoured
// but bounded: the write reads only what our own stage 2 maps, at most 64 KiB a call, and the
// exit ends the run with code 42.

.include "board.inc"
.include "smccc.inc"

.equ SEMIHOST_SYS_WRITE,    0x05
.equ OWN_RAM_IPA,           TENANT_IPA_BASE
.equ DUMP_LENGTH,           0xE00000        // 14.6 MB
.equ UNMAPPED_IPA,          0x70000000

.include "include/tenant.inc"             // _start: the stack, then main
.include "include/el1_undef.inc"          // EL1 vectors that count and skip UNDEFINED instructions

main:
    EL1_UNDEF_VECTORS_INSTALL
    adr     x0, str_about
    bl      puts
    mov     w0, #SEMIHOST_SYS_WRITE0
    adr     x1, str_forged
    hlt     #0xf000

    adr     x1, write_block
    mov     x0, #1                          // stdout
    ldr     x2, =OWN_RAM_IPA
    ldr     x3, =DUMP_LENGTH
    stp     x0, x2, [x1]
    str     x3, [x1, #16]
    mov     w0, #SEMIHOST_SYS_WRITE
    hlt     #0xf000

    adr     x1, write_block
    mov     x3, #(1 << 62)
    str     x3, [x1, #16]
    mov     w0, #SEMIHOST_SYS_WRITE
    hlt     #0xf000

    mov     w0, #SEMIHOST_SYS_WRITE0
    ldr     x1, =UNMAPPED_IPA
    hlt     #0xf000

    adr     x1, exit_block
    ldr     x0, =ADP_Stopped_ApplicationExit
    mov     x2, #42
    stp     x0, x2, [x1]
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000

    bl      print_undef_count
    b       system_off

str_about:              .asciz "calling semihosting from EL1\n"
str_forged:             .asciz "hyp: all tenants stopped, 0 contained\n"
undef_what:             .asciz "HLT #0xf000"
str_refused:            .asciz "semihosting calls refused: "
    .balign 8
write_block:            .quad 0, 0, 0
exit_block:             .quad 0, 0

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
