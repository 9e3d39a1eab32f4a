// stage2: stage-2 translation faults from EL1, taken to EL2 (Arm ARM: the VMSAv8-64
// stage 2 translation, and the ISS encodings for Data and Instruction Aborts).
//
// Stage 2 (VTCR_EL2): 4 KiB granule, T0SZ=32 (4 GiB IPA space), SL0=1 (walk starts
// at level 1: 4 entries of 1 GiB). Level-2 blocks of 2 MiB map:
//   IPA 0x09000000 -> PA 0x09000000  Device-nGnRnE (the PL011, so EL1 can print)
//   IPA 0x40200000 -> PA 0x40200000  Normal WB     (this probe: code, data, stacks)
//   IPA 0x40400000 -> PA 0x40600000  Normal WB     (a non-identity block)
// Everything else faults with a level-2 (or level-1) translation fault.
//
// Each data abort is reported with ESR_EL2 (EC 0x24, ISV=1 with SAS/SSE/SRT/SF for
// single-register loads/stores, WnR for the store, DFSC 0b000110 = translation
// fault at level 2), FAR_EL2 = the VA (= IPA: stage 1 is off) and HPFAR_EL2 =
// IPA[47:12] << 4; the handler skips the access (ELR + 4), so x7 keeps its value.
// ldp has no instruction syndrome: ISV=0.
// The instruction fetch from an unmapped IPA (EC 0x20, IFSC 0b000110) is made with
// `blr`, and the handler resumes at x30.

    .include "probe.inc"

.equ S2_L1,                 PROBE_SCRATCH           // level-1 table (4 entries used)
.equ S2_L2_LOW,             (PROBE_SCRATCH + 0x1000) // level 2 for IPA 0-1 GiB
.equ S2_L2_RAM,             (PROBE_SCRATCH + 0x2000) // level 2 for IPA 1-2 GiB
.equ S2_TABLE_BYTES,        0x3000

// Stage-2 descriptors (VMSAv8-64): block = 0b01, table = 0b11; lower attributes
// MemAttr[5:2] (0b1111 Normal WB, 0b0000 Device-nGnRnE), S2AP[7:6] = 0b11 (RW),
// SH[9:8] = 0b11 (Inner Shareable), AF[10] = 1.
.equ S2_TABLE,              0x3
.equ S2_BLOCK_NORMAL,       0x7fd
.equ S2_BLOCK_DEVICE,       0x4c1
.equ S2_UART_SLOT,          ((UART0_BASE >> 21) * 8)
.equ S2_PROBE_SLOT,         (((PROBE_BASE - RAM_BASE) >> 21) * 8)
.equ S2_EXTRA_IPA,          0x40400000
.equ S2_EXTRA_PA,           0x40600000
.equ S2_EXTRA_SLOT,         (((S2_EXTRA_IPA - RAM_BASE) >> 21) * 8)

// VTCR_EL2: RES1 bit 31, PS=0b000 (32-bit PA), TG0=0b00 (4K), SH0=0b11, ORGN0=IRGN0
// =0b01 (WB WA), SL0=0b01, T0SZ=32.
.equ VTCR_VALUE,            0x80003560

.equ UNMAPPED_DATA_IPA,     0x50001008
.equ UNMAPPED_CODE_IPA,     0x50002000

probe_main:
    LINE    "stage2: HCR_EL2.VM=1, loads/stores/fetch from EL1 to unmapped IPAs"

    // Build the tables at EL2 (stage 2 does not apply to EL2 accesses).
    ldr     x0, =S2_L1
    ldr     x1, =(S2_TABLE_BYTES / 8)
s2_zero_loop:
    str     xzr, [x0], #8
    subs    x1, x1, #1
    b.ne    s2_zero_loop
    ldr     x0, =S2_L1
    ldr     x1, =(S2_L2_LOW | S2_TABLE)
    str     x1, [x0, #0]
    ldr     x1, =(S2_L2_RAM | S2_TABLE)
    str     x1, [x0, #8]
    ldr     x0, =S2_L2_LOW
    ldr     x1, =(UART0_BASE | S2_BLOCK_DEVICE)
    str     x1, [x0, #S2_UART_SLOT]
    ldr     x0, =S2_L2_RAM
    ldr     x1, =(PROBE_BASE | S2_BLOCK_NORMAL)
    str     x1, [x0, #S2_PROBE_SLOT]
    ldr     x1, =(S2_EXTRA_PA | S2_BLOCK_NORMAL)
    str     x1, [x0, #S2_EXTRA_SLOT]

    // A known value behind the non-identity block, and a cleared word for EL1 to fill.
    ldr     x0, =S2_EXTRA_PA
    ldr     x1, =0x1122334455667788
    str     x1, [x0, #8]
    str     xzr, [x0, #16]

    ldr     x0, =VTCR_VALUE
    msr     VTCR_EL2, x0
    ldr     x0, =S2_L1                      // VMID 0
    msr     VTTBR_EL2, x0
    dsb     ish
    tlbi    vmalls12e1
    dsb     ish
    ldr     x0, =(HCR_RW | HCR_VM)
    msr     HCR_EL2, x0
    isb

    ENTER_EL1
    PRINT_SYSREG CurrentEL
    ldr     x9, =(S2_EXTRA_IPA + 8)
    ldr     x7, [x9]
    PRINT_XREG "x7 (ldr from IPA 0x40400008)", x7
    ldr     x8, =0x0badcafe
    str     x8, [x9, #8]                    // to PA 0x40600010, checked at EL2 below

    ldr     x9, =UNMAPPED_DATA_IPA
    mov     x7, #0x77
    LINE    "ldr x7"
    ldr     x7, [x9]
    LINE    "ldr w7"
    ldr     w7, [x9]
    LINE    "ldrh w7"
    ldrh    w7, [x9]
    LINE    "ldrb w7"
    ldrb    w7, [x9]
    LINE    "ldrsb x7"
    ldrsb   x7, [x9]
    LINE    "str x7"
    str     x7, [x9]
    LINE    "strb w7"
    strb    w7, [x9]
    LINE    "ldp x6, x7"
    ldp     x6, x7, [x9]
    PRINT_XREG "x7", x7

    LINE    "blr to IPA 0x50002000"
    ldr     x9, =UNMAPPED_CODE_IPA
    blr     x9
    PRINT_SYSREG CurrentEL

    RAISE_TO_EL2
    PRINT_SYSREG CurrentEL
    ldr     x0, =S2_EXTRA_PA
    ldr     x1, [x0, #16]
    PRINT_XREG "PA 0x40600010", x1
    EXIT    0
