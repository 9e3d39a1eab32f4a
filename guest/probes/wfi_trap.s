// wfi_trap: with HCR_EL2.TWI=1, WFI at EL1 traps to EL2 (EC 0x01). The trap is only
// taken if the WFI would otherwise wait (Arm ARM, HCR_EL2.TWI); here no interrupt is
// pending (GIC and timers untouched), so it always would.
// ISS from AArch64: CV=1, COND=0b1110, TI=0 (WFI) -> ESR_EL2 = 0x07e00000;
// ELR_EL2 = the WFI itself.
// No WFE case: HCR_EL2.TWE traps WFE only if it would wait, and the ERET into EL1
// sets the event register, so the first WFE completes at once (QEMU 7.2 also never
// traps WFE: it treats it as a yield).

    .include "probe.inc"

probe_main:
    LINE    "wfi_trap: HCR_EL2.TWI=1, wfi at EL1"
    ldr     x0, =(HCR_RW | HCR_TWI)
    msr     HCR_EL2, x0
    isb
    ENTER_EL1
    wfi
    PRINT_SYSREG CurrentEL
    EXIT    0
