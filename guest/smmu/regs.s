// regs: the SMMUv3 of `virt,iommu=smmuv3` (QEMU) and `--board virt,iommu=smmuv3` (emu) at
// 0x09050000, driven at EL2 through its registers and command queue: what both models have.
// (QEMU 7.2's SMMU translates stage 1 only and ours stage 2 only, so the ID registers and any
// translation differ by design; tests/devices/test_smmuv3.py holds those.)
//
// Expected (Arm IHI 0070, and QEMU's hw/arm/smmuv3.c): CR0ACK and IRQ_CTRL_ACK follow CR0 and
// IRQ_CTRL; commands are consumed on each CMDQ_PROD write while CR0.CMDQEN is set, CMDQ_CONS
// following PROD with its wrap bit; an illegal opcode stops the queue at its index with
// CMDQ_CONS.ERR = 1 (CERROR_ILL) and toggles GERROR.CMDQ_ERR; commands written meanwhile wait;
// acknowledging through GERRORN lets the queue go on at once.

    .include "../probes/gic_probe.inc"

.equ SMMU_BASE,         0x09050000
.equ CR0,               0x20
.equ CR0ACK,            0x24
.equ IRQ_CTRL,          0x50
.equ IRQ_CTRL_ACK,      0x54
.equ GERROR,            0x60
.equ GERRORN,           0x64
.equ CMDQ_BASE,         0x90
.equ CMDQ_PROD,         0x98
.equ CMDQ_CONS,         0x9c
.equ CR0_CMDQEN,        (1 << 3)
.equ CMDQ_LOG2SIZE,     3                   // 8 commands of 16 bytes
.equ CMD_SYNC,          0x46
.equ CMD_ILLEGAL,       0x7f

// PUT_COMMAND index, opcode: a 16-byte command at `index` of the queue, other fields 0.
.macro PUT_COMMAND index, opcode
    ldr     x9, =cmdq
    add     x9, x9, #(\index * 16)
    mov     x10, #\opcode
    stp     x10, xzr, [x9]
.endm

probe_main:
    LINE    "smmu: CR0ACK, IRQ_CTRL_ACK, the command queue, CMD_SYNC, GERROR"
    RD32    SMMU_BASE, CR0ACK, CR0ACK_reset
    ldr     x9, =SMMU_BASE
    ldr     x10, =cmdq
    orr     x10, x10, #CMDQ_LOG2SIZE
    str     x10, [x9, #CMDQ_BASE]
    WR32    SMMU_BASE, CMDQ_PROD, 0
    WR32    SMMU_BASE, CMDQ_CONS, 0
    WR32    SMMU_BASE, CR0, CR0_CMDQEN
    RD32    SMMU_BASE, CR0ACK, CR0ACK
    WR32    SMMU_BASE, IRQ_CTRL, 5
    RD32    SMMU_BASE, IRQ_CTRL_ACK, IRQ_CTRL_ACK

    LINE    "one CMD_SYNC, then two"
    PUT_COMMAND 0, CMD_SYNC
    WR32    SMMU_BASE, CMDQ_PROD, 1
    RD32    SMMU_BASE, CMDQ_CONS, CMDQ_CONS
    PUT_COMMAND 1, CMD_SYNC
    PUT_COMMAND 2, CMD_SYNC
    WR32    SMMU_BASE, CMDQ_PROD, 3
    RD32    SMMU_BASE, CMDQ_CONS, CMDQ_CONS

    LINE    "an illegal opcode at index 3"
    PUT_COMMAND 3, CMD_ILLEGAL
    WR32    SMMU_BASE, CMDQ_PROD, 4
    RD32    SMMU_BASE, CMDQ_CONS, CMDQ_CONS
    RD32    SMMU_BASE, GERROR, GERROR
    RD32    SMMU_BASE, GERRORN, GERRORN
    PUT_COMMAND 4, CMD_SYNC
    WR32    SMMU_BASE, CMDQ_PROD, 5
    RD32    SMMU_BASE, CMDQ_CONS, CMDQ_CONS_stopped

    LINE    "fixed and acknowledged"
    PUT_COMMAND 3, CMD_SYNC
    ldr     x9, =SMMU_BASE
    ldr     w10, [x9, #GERROR]
    str     w10, [x9, #GERRORN]
    ldr     w10, [x9, #CMDQ_CONS]
    and     w10, w10, #0xfffff
    PRINT_XREG "CMDQ_CONS_index", x10
    RD32    SMMU_BASE, GERRORN, GERRORN

    LINE    "five more: the queue wraps"
    PUT_COMMAND 5, CMD_SYNC
    PUT_COMMAND 6, CMD_SYNC
    PUT_COMMAND 7, CMD_SYNC
    PUT_COMMAND 0, CMD_SYNC
    PUT_COMMAND 1, CMD_SYNC
    WR32    SMMU_BASE, CMDQ_PROD, 0xa
    ldr     x9, =SMMU_BASE
    ldr     w10, [x9, #CMDQ_CONS]
    and     w10, w10, #0xfffff
    PRINT_XREG "CMDQ_CONS_index", x10

    WR32    SMMU_BASE, CR0, 0
    RD32    SMMU_BASE, CR0ACK, CR0ACK
    EXIT    0

    .ltorg
    .balign 128                             // the queue's size: 8 x 16 bytes
cmdq:
    .space 128
