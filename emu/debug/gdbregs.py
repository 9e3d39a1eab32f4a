"""The registers GDB sees: the target description (XML) and how each register is read and written.

GDB learns the register set from ``qXfer:features:read:target.xml`` (GDB manual, "Target
Descriptions"). Its AArch64 support requires two standard features, which it checks by
register name: ``org.gnu.gdb.aarch64.core`` (x0-x30, sp, pc, cpsr) and
``org.gnu.gdb.aarch64.fpu`` (v0-v31, fpsr, fpcr). A third feature of our own carries the
system registers a hypervisor developer reads at a trap (ESR_EL2, HPFAR_EL2, VTTBR_EL2, the
timers, ...); GDB shows any such feature's registers in ``info registers`` and as ``$NAME``.

Register numbers in ``p``/``P`` packets are the order of the XML, counted from 0. The ``g``
packet carries the core and FP/SIMD registers only; GDB fetches the system registers one by
one with ``p``, so a ``G`` write never rewrites EL2 state (or reprograms a timer) by accident.

The generic timer registers come from the machine's timer model when it has one, because the
machine owns virtual time: Unicorn's own CNTVCT follows the host clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable
from xml.sax.saxutils import escape as xml_escape

from unicorn.arm64_const import (
    UC_ARM64_REG_FPCR,
    UC_ARM64_REG_FPSR,
    UC_ARM64_REG_PC,
    UC_ARM64_REG_PSTATE,
    UC_ARM64_REG_SP,
    UC_ARM64_REG_SP_EL0,
    UC_ARM64_REG_SP_EL1,
    UC_ARM64_REG_V0,
    UC_ARM64_REG_X0,
    UC_ARM64_REG_X29,
    UC_ARM64_REG_X30,
)

if TYPE_CHECKING:
    from ..machine import Machine

SYSTEM_FEATURE = "org.emu.aarch64.system"

# The system registers offered to GDB, in the order they are numbered after the FP/SIMD ones.
SYSTEM_REGISTERS = (
    "CurrentEL",
    "SPSR_EL1", "ELR_EL1", "ESR_EL1", "FAR_EL1", "SP_EL0", "SP_EL1",
    "SPSR_EL2", "ELR_EL2", "ESR_EL2", "FAR_EL2", "HPFAR_EL2",
    "HCR_EL2", "VTTBR_EL2", "VTCR_EL2",
    "SCTLR_EL1", "SCTLR_EL2", "VBAR_EL1", "VBAR_EL2",
    "TTBR0_EL1", "TTBR1_EL1", "MAIR_EL1", "TCR_EL1",
    "CNTFRQ_EL0", "CNTPCT_EL0", "CNTVCT_EL0", "CNTVOFF_EL2", "CNTKCTL_EL1", "CNTHCTL_EL2",
    "CNTP_CTL_EL0", "CNTP_CVAL_EL0", "CNTP_TVAL_EL0",
    "CNTV_CTL_EL0", "CNTV_CVAL_EL0", "CNTV_TVAL_EL0",
    "CNTHP_CTL_EL2", "CNTHP_CVAL_EL2", "CNTHP_TVAL_EL2",
)

# Registers whose value is derived, not stored: a write is refused rather than silently lost.
READ_ONLY = frozenset(("CurrentEL", "CNTPCT_EL0", "CNTVCT_EL0"))

# The stack pointers that PSTATE.SP/EL select among; the live one is UC_ARM64_REG_SP, and the
# banked copy of the bank in use is stale until the next exception entry or return.
_SP_BANKS = {"SP_EL0": (0, UC_ARM64_REG_SP_EL0), "SP_EL1": (1, UC_ARM64_REG_SP_EL1)}


class RegisterError(ValueError):
    """A register that cannot be written (read-only) or does not exist."""


@dataclass(frozen=True)
class Register:
    name: str
    bitsize: int
    feature: str
    type: str                       # a GDB type name or one defined in the description
    group: str | None = None
    read: Callable[["Machine"], int] | None = None
    write: Callable[["Machine", int], None] | None = None

    @property
    def size(self) -> int:
        return self.bitsize // 8


def _uc_reg(uc_id: int):
    return (lambda m: m.uc.reg_read(uc_id)), (lambda m, v: m.uc.reg_write(uc_id, v))


def _write_cpsr(m: "Machine", value: int) -> None:
    m.cpu.set_pstate(value)


def _sysreg_accessors(name: str):
    if name == "CurrentEL":
        # Unicorn's CP_REG path does not compute CurrentEL; PSTATE has it (EL in bits [3:2]).
        return (lambda m: m.uc.reg_read(UC_ARM64_REG_PSTATE) & 0xC), None
    if name in _SP_BANKS:
        bank, uc_id = _SP_BANKS[name]

        def read_sp(m, bank=bank, uc_id=uc_id):
            return m.uc.reg_read(UC_ARM64_REG_SP if m.cpu.sp_bank == bank else uc_id)

        def write_sp(m, value, bank=bank, uc_id=uc_id):
            m.uc.reg_write(UC_ARM64_REG_SP if m.cpu.sp_bank == bank else uc_id, value)

        return read_sp, write_sp
    if name.startswith("CNT"):
        def read_timer(m, name=name):
            timer = getattr(m, "timer", None)
            return timer.read(name) if timer is not None else m.cpu.read_sysreg(name)

        def write_timer(m, value, name=name):
            timer = getattr(m, "timer", None)
            if timer is not None:
                timer.write(name, value)
            else:
                m.cpu.write_sysreg(name, value)

        return read_timer, (None if name in READ_ONLY else write_timer)
    return (lambda m, name=name: m.cpu.read_sysreg(name)), (lambda m, v, name=name: m.cpu.write_sysreg(name, v))


def _build() -> list[Register]:
    core = "org.gnu.gdb.aarch64.core"
    fpu = "org.gnu.gdb.aarch64.fpu"
    regs: list[Register] = []
    for i in range(29):
        regs.append(Register(f"x{i}", 64, core, "uint64", None, *_uc_reg(UC_ARM64_REG_X0 + i)))
    # x29 and x30 are not contiguous with x0-x28 in Unicorn's numbering.
    regs.append(Register("x29", 64, core, "data_ptr", None, *_uc_reg(UC_ARM64_REG_X29)))
    regs.append(Register("x30", 64, core, "code_ptr", None, *_uc_reg(UC_ARM64_REG_X30)))
    regs.append(Register("sp", 64, core, "data_ptr", None, *_uc_reg(UC_ARM64_REG_SP)))
    regs.append(Register("pc", 64, core, "code_ptr", None, *_uc_reg(UC_ARM64_REG_PC)))
    regs.append(Register("cpsr", 32, core, "cpsr_flags", None,
                         lambda m: m.uc.reg_read(UC_ARM64_REG_PSTATE) & 0xFFFFFFFF, _write_cpsr))
    for i in range(32):
        regs.append(Register(f"v{i}", 128, fpu, "aarch64v", None, *_uc_reg(UC_ARM64_REG_V0 + i)))
    regs.append(Register("fpsr", 32, fpu, "uint32", None, *_uc_reg(UC_ARM64_REG_FPSR)))
    regs.append(Register("fpcr", 32, fpu, "uint32", None, *_uc_reg(UC_ARM64_REG_FPCR)))
    for name in SYSTEM_REGISTERS:
        read, write = _sysreg_accessors(name)
        if name in READ_ONLY:
            write = None
        regs.append(Register(name, 64, SYSTEM_FEATURE, "uint64", "system", read, write))
    return regs


REGISTERS: list[Register] = _build()
BY_NAME = {r.name: i for i, r in enumerate(REGISTERS)}
# The 'g' packet: the general and FP/SIMD registers, up to and including fpcr.
G_PACKET_COUNT = BY_NAME["fpcr"] + 1


def read_register(m: "Machine", regno: int) -> int:
    if not 0 <= regno < len(REGISTERS):
        raise RegisterError(f"no register number {regno}")
    return REGISTERS[regno].read(m)


def write_register(m: "Machine", regno: int, value: int) -> None:
    if not 0 <= regno < len(REGISTERS):
        raise RegisterError(f"no register number {regno}")
    reg = REGISTERS[regno]
    if reg.write is None:
        raise RegisterError(f"{reg.name} is read-only")
    reg.write(m, value & ((1 << reg.bitsize) - 1))


# -- the target description -------------------------------------------------------------------

# Types GDB's AArch64 code expects to see named in the description: the CPSR flag layout and a
# view of a 128-bit SIMD register as the lane shapes an instruction may use.
_TYPES = {
    "org.gnu.gdb.aarch64.core": """\
  <flags id="cpsr_flags" size="4">
    <field name="SP" start="0" end="0"/>
    <field name="EL" start="2" end="3"/>
    <field name="nRW" start="4" end="4"/>
    <field name="F" start="6" end="6"/>
    <field name="I" start="7" end="7"/>
    <field name="A" start="8" end="8"/>
    <field name="D" start="9" end="9"/>
    <field name="IL" start="20" end="20"/>
    <field name="SS" start="21" end="21"/>
    <field name="V" start="28" end="28"/>
    <field name="C" start="29" end="29"/>
    <field name="Z" start="30" end="30"/>
    <field name="N" start="31" end="31"/>
  </flags>
""",
    "org.gnu.gdb.aarch64.fpu": """\
  <vector id="v2d" type="ieee_double" count="2"/>
  <vector id="v2u" type="uint64" count="2"/>
  <vector id="v4f" type="ieee_single" count="4"/>
  <vector id="v4u" type="uint32" count="4"/>
  <vector id="v8u" type="uint16" count="8"/>
  <vector id="v16u" type="uint8" count="16"/>
  <union id="aarch64v">
    <field name="d" type="v2d"/>
    <field name="ud" type="v2u"/>
    <field name="s" type="v4f"/>
    <field name="us" type="v4u"/>
    <field name="h" type="v8u"/>
    <field name="b" type="v16u"/>
    <field name="q" type="uint128"/>
  </union>
""",
}


def target_xml() -> str:
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE target SYSTEM "gdb-target.dtd">', "<target>",
             "  <architecture>aarch64</architecture>"]
    feature = None
    for regno, reg in enumerate(REGISTERS):
        if reg.feature != feature:
            if feature is not None:
                lines.append("</feature>")
            feature = reg.feature
            lines.append(f'<feature name="{feature}">')
            types = _TYPES.get(feature)
            if types:
                lines.append(types.rstrip("\n"))
        group = f' group="{reg.group}"' if reg.group else ""
        lines.append(f'  <reg name="{xml_escape(reg.name)}" bitsize="{reg.bitsize}" type="{reg.type}" '
                     f'regnum="{regno}"{group}/>')
    lines.append("</feature>")
    lines.append("</target>")
    return "\n".join(lines) + "\n"
