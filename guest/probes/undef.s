// undef: UDF #0 (encoding 0x00000000, permanently UNDEFINED) at EL1 is taken to
// EL1, and at EL2 to EL2, with EC 0x00 "Unknown reason": ESR = 0x02000000 (IL=1,
// ISS 0), ELR = the UDF itself.

    .include "probe.inc"

probe_main:
    LINE    "undef: udf #0 at EL1, then at EL2"
    ENTER_EL1
    // udf #0, as data: Keystone 0.9.2 rejects `udf` and silently drops `.inst`.
    .word   0x00000000
    PRINT_SYSREG CurrentEL
    RAISE_TO_EL2
    .word   0x00000000
    PRINT_SYSREG CurrentEL
    EXIT    0
