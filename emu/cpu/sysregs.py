"""AArch64 system register encodings (Arm DDI 0487, section D19 "AArch64 System Register Descriptions").

Each register is named as in the Arm ARM and encoded as (op0, op1, CRn, CRm, op2), the operands of
MRS/MSR. Unicorn reaches any of them through ``UC_ARM64_REG_CP_REG``.
"""

from __future__ import annotations

from typing import NamedTuple


class SysReg(NamedTuple):
    op0: int
    op1: int
    crn: int
    crm: int
    op2: int

    def __str__(self) -> str:
        return f"S{self.op0}_{self.op1}_C{self.crn}_C{self.crm}_{self.op2}"


def _r(op0: int, op1: int, crn: int, crm: int, op2: int) -> SysReg:
    return SysReg(op0, op1, crn, crm, op2)


SYSREGS: dict[str, SysReg] = {
    # Identification
    "MIDR_EL1": _r(3, 0, 0, 0, 0),
    "MPIDR_EL1": _r(3, 0, 0, 0, 5),
    "ID_AA64PFR0_EL1": _r(3, 0, 0, 4, 0),
    "ID_AA64MMFR0_EL1": _r(3, 0, 0, 7, 0),
    "CurrentEL": _r(3, 0, 4, 2, 2),
    # EL1 translation and control
    "SCTLR_EL1": _r(3, 0, 1, 0, 0),
    "CPACR_EL1": _r(3, 0, 1, 0, 2),
    "TTBR0_EL1": _r(3, 0, 2, 0, 0),
    "TTBR1_EL1": _r(3, 0, 2, 0, 1),
    "TCR_EL1": _r(3, 0, 2, 0, 2),
    "SPSR_EL1": _r(3, 0, 4, 0, 0),
    "ELR_EL1": _r(3, 0, 4, 0, 1),
    "SP_EL0": _r(3, 0, 4, 1, 0),
    "AFSR0_EL1": _r(3, 0, 5, 1, 0),
    "AFSR1_EL1": _r(3, 0, 5, 1, 1),
    "ESR_EL1": _r(3, 0, 5, 2, 0),
    "FAR_EL1": _r(3, 0, 6, 0, 0),
    "PAR_EL1": _r(3, 0, 7, 4, 0),
    "MAIR_EL1": _r(3, 0, 10, 2, 0),
    "AMAIR_EL1": _r(3, 0, 10, 3, 0),
    "VBAR_EL1": _r(3, 0, 12, 0, 0),
    "CONTEXTIDR_EL1": _r(3, 0, 13, 0, 1),
    "TPIDR_EL1": _r(3, 0, 13, 0, 4),
    "CNTKCTL_EL1": _r(3, 0, 14, 1, 0),
    "SP_EL1": _r(3, 4, 4, 1, 0),
    # EL2
    "VPIDR_EL2": _r(3, 4, 0, 0, 0),
    "VMPIDR_EL2": _r(3, 4, 0, 0, 5),
    "SCTLR_EL2": _r(3, 4, 1, 0, 0),
    "ACTLR_EL2": _r(3, 4, 1, 0, 1),
    "HCR_EL2": _r(3, 4, 1, 1, 0),
    "MDCR_EL2": _r(3, 4, 1, 1, 1),
    "CPTR_EL2": _r(3, 4, 1, 1, 2),
    "HSTR_EL2": _r(3, 4, 1, 1, 3),
    "HACR_EL2": _r(3, 4, 1, 1, 7),
    "TTBR0_EL2": _r(3, 4, 2, 0, 0),
    "TCR_EL2": _r(3, 4, 2, 0, 2),
    "VTTBR_EL2": _r(3, 4, 2, 1, 0),
    "VTCR_EL2": _r(3, 4, 2, 1, 2),
    "SPSR_EL2": _r(3, 4, 4, 0, 0),
    "ELR_EL2": _r(3, 4, 4, 0, 1),
    "SP_EL2": _r(3, 6, 4, 1, 0),
    "ESR_EL2": _r(3, 4, 5, 2, 0),
    "FAR_EL2": _r(3, 4, 6, 0, 0),
    "HPFAR_EL2": _r(3, 4, 6, 0, 4),
    "MAIR_EL2": _r(3, 4, 10, 2, 0),
    "VBAR_EL2": _r(3, 4, 12, 0, 0),
    "TPIDR_EL2": _r(3, 4, 13, 0, 2),
    "CNTHCTL_EL2": _r(3, 4, 14, 1, 0),
    "CNTVOFF_EL2": _r(3, 4, 14, 0, 3),
    "CNTHP_TVAL_EL2": _r(3, 4, 14, 2, 0),
    "CNTHP_CTL_EL2": _r(3, 4, 14, 2, 1),
    "CNTHP_CVAL_EL2": _r(3, 4, 14, 2, 2),
    # EL3
    "SCTLR_EL3": _r(3, 6, 1, 0, 0),
    "SCR_EL3": _r(3, 6, 1, 1, 0),
    "CPTR_EL3": _r(3, 6, 1, 1, 2),
    "SPSR_EL3": _r(3, 6, 4, 0, 0),
    "ELR_EL3": _r(3, 6, 4, 0, 1),
    "ESR_EL3": _r(3, 6, 5, 2, 0),
    "FAR_EL3": _r(3, 6, 6, 0, 0),
    "VBAR_EL3": _r(3, 6, 12, 0, 0),
    # Generic timer (Arm DDI 0487, D11)
    "CNTFRQ_EL0": _r(3, 3, 14, 0, 0),
    "CNTPCT_EL0": _r(3, 3, 14, 0, 1),
    "CNTVCT_EL0": _r(3, 3, 14, 0, 2),
    "CNTP_TVAL_EL0": _r(3, 3, 14, 2, 0),
    "CNTP_CTL_EL0": _r(3, 3, 14, 2, 1),
    "CNTP_CVAL_EL0": _r(3, 3, 14, 2, 2),
    "CNTV_TVAL_EL0": _r(3, 3, 14, 3, 0),
    "CNTV_CTL_EL0": _r(3, 3, 14, 3, 1),
    "CNTV_CVAL_EL0": _r(3, 3, 14, 3, 2),
    "TPIDR_EL0": _r(3, 3, 13, 0, 2),
    "TPIDRRO_EL0": _r(3, 3, 13, 0, 3),
}

# Registers of each exception level that an exception entry writes, indexed by target EL.
SPSR_ELX = {1: SYSREGS["SPSR_EL1"], 2: SYSREGS["SPSR_EL2"], 3: SYSREGS["SPSR_EL3"]}


def name_of(enc: SysReg) -> str:
    """The Arm ARM name of an encoding, or its generic ``S<op0>_<op1>_C<n>_C<m>_<op2>`` form."""
    for name, e in SYSREGS.items():
        if e == enc:
            return name
    return str(enc)
