// hvc: HVC #0x1234 at EL1 is taken to EL2 through the lower-EL AArch64 vector;
// HVC #1 at EL2 is taken to EL2 through the current-EL SP_ELx vector.
// HVC is enabled: EL3 is absent on QEMU virt (virtualization=on, secure=off), so
// SCR_EL3.HCE behaves as 1, and HCR_EL2.HCD = 0.
// Expected: ESR_EL2 = EC 0x16, IL=1, imm16 -> 0x5a001234 and 0x5a000001;
// ELR_EL2 = the instruction after the HVC (preferred return address of HVC).

    .include "probe.inc"

probe_main:
    LINE    "hvc: hvc #0x1234 at EL1, hvc #1 at EL2"
    ENTER_EL1
    hvc     #0x1234
    PRINT_SYSREG CurrentEL
    RAISE_TO_EL2
    PRINT_SYSREG CurrentEL
    hvc     #1
    PRINT_SYSREG CurrentEL
    EXIT    0
