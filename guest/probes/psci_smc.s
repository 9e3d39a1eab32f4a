// psci_smc: the platform's PSCI when the core boots at EL2 (virtualization=on): the conduit is
// SMC, from EL2 and from EL1 (HCR_EL2.TSC clear), and HVC from EL1 is the hypervisor's, taken to
// EL2 like any HVC. x0 after each SMC is printed as "x0=".

    .include "probe.inc"

.macro SMC_CALL fid, x1
    ldr     x0, =\fid
    ldr     x1, =\x1
    mov     x2, #0
    mov     x3, #0
    smc     #0
    PRINT_XREG "x0", x0
.endm

probe_main:
    LINE    "psci_smc: PSCI through SMC at EL2 and EL1; HVC at EL1 goes to EL2"
    SMC_CALL 0x84000000, 0                  // VERSION
    SMC_CALL 0x8400000a, 0xc4000003         // FEATURES(CPU_ON)
    SMC_CALL 0x84000006, 0                  // MIGRATE_INFO_TYPE
    SMC_CALL 0xc4000004, 0                  // AFFINITY_INFO(core 0)
    SMC_CALL 0xc4000003, 0                  // CPU_ON(core 0): already on
    ENTER_EL1
    SMC_CALL 0x84000000, 0                  // VERSION, from EL1
    SMC_CALL 0xc4000004, 3                  // AFFINITY_INFO(no such core)
    ldr     x0, =0x84000000
    hvc     #0                              // not PSCI here: the hypervisor's (ours) call
    PRINT_SYSREG CurrentEL
    EXIT    0
