// hello: the well-behaved tenant. Shows what an EL1 guest sees (CurrentEL, its tenant id,
// the SMCCC and PSCI versions), uses both console paths (the PL011 and HYP_CONSOLE_WRITE),
// gives the core away twice (HYP_YIELD, then a trapped WFI), and powers off.

.include "board.inc"
.include "smccc.inc"

.include "include/tenant.inc"             // _start: the stack, then main

main:
    adr     x0, str_hello
    bl      puts

    adr     x0, str_current_el
    bl      puts
    mrs     x0, CurrentEL
    lsr     x0, x0, #2
    bl      put_dec
    bl      newline

    adr     x0, str_tenant_id
    bl      puts
    bl      tenant_id
    bl      put_dec
    bl      newline

    adr     x0, str_smccc
    bl      puts
    ldr     w0, =SMCCC_VERSION
    bl      hvc_call
    bl      put_hex
    bl      newline

    adr     x0, str_psci
    bl      puts
    ldr     w0, =PSCI_VERSION
    bl      hvc_call
    bl      put_hex
    bl      newline

    // One whole line through HYP_CONSOLE_WRITE (buffer IPA and length), not the PL011.
    ldr     w0, =HYP_CONSOLE_WRITE
    adr     x1, str_console_write
    adr     x2, str_console_write_end
    sub     x2, x2, x1
    bl      hvc_call
    mov     x19, x0
    adr     x0, str_written
    bl      puts
    mov     x0, x19
    bl      put_dec
    bl      newline

    adr     x0, str_yielding
    bl      puts
    bl      yield
    adr     x0, str_back
    bl      puts

    adr     x0, str_wfi
    bl      puts
    wfi                                     // trapped (HCR_EL2.TWI): another yield
    adr     x0, str_after_wfi
    bl      puts

    adr     x0, str_bye
    bl      puts
    b       system_off

str_hello:              .asciz "Hello from EL1\n"
str_current_el:         .asciz "CurrentEL: "
str_tenant_id:          .asciz "tenant id: "
str_smccc:              .asciz "SMCCC version: "
str_psci:               .asciz "PSCI version: "
str_console_write:      .ascii "this line went through HYP_CONSOLE_WRITE\n"
str_console_write_end:
str_written:            .asciz "HYP_CONSOLE_WRITE returned "
str_yielding:           .asciz "yielding with HYP_YIELD\n"
str_back:               .asciz "back after HYP_YIELD\n"
str_wfi:                .asciz "waiting with WFI\n"
str_after_wfi:          .asciz "back after WFI\n"
str_bye:                .asciz "powering off\n"

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
