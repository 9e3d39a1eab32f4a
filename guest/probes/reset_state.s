// reset_state: the core's state as the boot leaves it, read before anything changes it: x0-x3,
// NZCV, DAIF, CurrentEL, SPSel and the EL2/EL1 control registers a hypervisor inherits. Unlike the
// other probes it does not include probe.inc, whose start-up would overwrite what it reads.

.include "board.inc"
.include "smccc.inc"
_start:
    // Save what reset left before anything changes it.
    adr     x30, saved
    stp     x0, x1, [x30]
    stp     x2, x3, [x30, #16]
    mrs     x0, nzcv
    mrs     x1, daif
    mrs     x2, CurrentEL
    mrs     x3, spsel
    stp     x0, x1, [x30, #32]
    stp     x2, x3, [x30, #48]
    mrs     x0, sctlr_el2
    mrs     x1, hcr_el2
    mrs     x2, cptr_el2
    mrs     x3, cnthctl_el2
    stp     x0, x1, [x30, #64]
    stp     x2, x3, [x30, #80]
    mrs     x0, vttbr_el2
    mrs     x1, cntvoff_el2
    mrs     x2, sctlr_el1
    mrs     x3, cpacr_el1
    stp     x0, x1, [x30, #96]
    stp     x2, x3, [x30, #112]
    mrs     x0, mdcr_el2
    mrs     x1, vpidr_el2
    mrs     x2, vmpidr_el2
    mrs     x3, mpidr_el1
    stp     x0, x1, [x30, #128]
    stp     x2, x3, [x30, #144]
    ldr     x0, =0x40300000
    mov     sp, x0
    adr     x19, saved
    mov     x20, #20
print_loop:
    ldr     x0, [x19], #8
    bl      put_hex
    mov     x0, #10
    bl      putc
    subs    x20, x20, #1
    b.ne    print_loop
    adr     x1, exit_block
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000
putc:
    ldr     x9, =UART0_BASE
    strb    w0, [x9]
    ret
put_hex:
    mov     x13, x0
    mov     x14, x30
    mov     x15, #60
put_hex_digit:
    lsr     x0, x13, x15
    and     x0, x0, #0xf
    cmp     x0, #10
    add     x1, x0, #'0'
    add     x0, x0, #('a' - 10)
    csel    x0, x1, x0, lo
    bl      putc
    subs    x15, x15, #4
    b.ge    put_hex_digit
    ret     x14
    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
saved:
    .space  160
