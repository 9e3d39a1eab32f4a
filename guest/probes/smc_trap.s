// smc_trap: with HCR_EL2.TSC=1, SMC #3 at EL1 traps to EL2 (EC 0x17).
// Unlike SVC/HVC, a trapped SMC reports the SMC instruction itself as the preferred
// return address (Arm ARM, HCR_EL2.TSC), so ELR_EL2 = address of the SMC and the
// handler skips it with ELR + 4.
// Expected: ESR_EL2 = EC 0x17, IL=1, imm16 = 3 -> 0x5e000003.
// QEMU virt has no EL3 but, with virtualization=on, implements PSCI over SMC as if
// firmware were at EL3; it gives the HCR_EL2.TSC trap priority, which is what this
// probe relies on. An SMC at EL2 would be consumed by QEMU's PSCI, so none is made.

    .include "probe.inc"

probe_main:
    LINE    "smc_trap: HCR_EL2.TSC=1, smc #3 at EL1"
    ldr     x0, =(HCR_RW | HCR_TSC)
    msr     HCR_EL2, x0
    isb
    ENTER_EL1
    smc     #3
    PRINT_SYSREG CurrentEL
    EXIT    0
