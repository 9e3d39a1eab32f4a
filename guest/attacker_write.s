// attacker_write: tries to write just past its own partition, at the first IPA after its
// 2 MiB of RAM, then (if that ever succeeded) to the GIC distributor it does not own.
// Stage 2 maps neither, so the first store must fault and the tenant be contained.

.include "board.inc"
.include "smccc.inc"

.equ OUTSIDE_IPA,       TENANT_IPA_BASE + 0x200000
.equ GICD_CTLR,         0x000

.include "include/tenant.inc"             // _start: the stack, then main

main:
    adr     x0, str_about
    bl      puts
    ldr     x1, =OUTSIDE_IPA
    ldr     x2, =0xbad0bad0bad0bad0
    str     x2, [x1]                        // stage-2 translation fault: contained here
    adr     x0, str_breach_ram
    bl      puts
    ldr     x1, =GICD_BASE
    str     wzr, [x1, #GICD_CTLR]           // would disable every tenant's interrupts
    adr     x0, str_breach_gicd
    bl      puts
    b       system_off

str_about:              .asciz "writing past my RAM at IPA 0x40200000\n"
str_breach_ram:         .asciz "BREACH: wrote outside my partition\n"
str_breach_gicd:        .asciz "BREACH: disabled the GIC distributor\n"

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
