// attacker_spin: tries to keep the core for good in a cooperative system (no time slice in the
// manifest). It masks every exception at EL1 (DAIF) and spins: no trap, no yield, no WFI or WFE.
// PSTATE.I at EL1 masks only interrupts taken to EL1; the hypervisor's watchdog (CNTHP, INTID 26)
// is a physical IRQ that HCR_EL2.IMO routes to EL2, so it still preempts this tenant, and stops
// it once it has held the core for WATCHDOG_STRIKES_MAX budgets without giving it back.
// The line after the loop must never print.

.include "board.inc"
.include "smccc.inc"

.include "include/tenant.inc"             // _start: the stack, then main

main:
    adr     x0, str_about
    bl      puts
    msr     daifset, #0xf
spin:
    add     x19, x19, #1
    b       spin
    adr     x0, str_breach
    bl      puts
    b       system_off

str_about:              .asciz "masking DAIF and spinning forever\n"
str_breach:             .asciz "BREACH: the spin ended\n"

.include "include/tenant_bss.inc"         // literals, __bss_start, the stack
