"""``monitor`` commands of the GDB server: what a hypervisor developer asks at a trap.

GDB passes ``monitor <text>`` through as a ``qRcmd`` packet; the text each command returns is
printed on the GDB console. Commands only read machine state (or flip a switch of the server),
so they are safe at any stop.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from unicorn import UcError

from ..cpu.core import VECTOR_NAMES, ExceptionEntry
from ..cpu.esr import ABORT_CLASSES, describe, ec_of, insn_address
from ..cpu.mmu import walk_stage2
from ..errors import EmuError

if TYPE_CHECKING:
    from .gdbstub import GdbServer

# A tenant's RAM starts here in its own IPA space (the tenant contract, README).
TENANT_RAM_IPA = 0x4000_0000

HELP = """\
monitor trap on|off     stop at the first instruction of every exception taken to EL2,
                        and print the decoded ESR_EL2
monitor stage2 IPA      walk the current stage-2 tables (VTTBR_EL2/VTCR_EL2) for IPA
monitor tenant          which tenant's stage 2 is installed (and where the CPU is)
monitor gic             pending, active and list registers of the GIC model, if any
monitor phys on|off     make memory reads and writes use physical addresses
monitor help            this text
With several cores each command answers for the core of the thread GDB selected (thread N).
"""


def _on_off(args: list[str], what: str) -> bool:
    if len(args) != 1 or args[0].lower() not in ("on", "off"):
        raise EmuError(f"usage: monitor {what} on|off")
    return args[0].lower() == "on"


def _int_arg(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise EmuError(f"{what}: not a number: {text!r}") from None


def _read_u64(m, pa: int) -> int:
    return struct.unpack("<Q", m.read_phys(pa, 8))[0]


def _walk(m, ipa: int):
    vttbr = m.cpu.read_sysreg("VTTBR_EL2")
    vtcr = m.cpu.read_sysreg("VTCR_EL2")
    try:
        return vttbr, vtcr, walk_stage2(vttbr, vtcr, ipa, lambda pa: _read_u64(m, pa))
    except UcError:
        raise EmuError(f"the stage-2 tables for IPA {ipa:#x} reach unmapped memory (VTTBR_EL2 {vttbr:#x})") from None


def _tenant_at(m, pa: int | None):
    if pa is None:
        return None
    return next((t for t in m.tenants if t.pa <= pa < t.pa + t.size), None)


def describe_trap(m, e: ExceptionEntry) -> str:
    """One line for an exception taken to EL2, as the trace names it (emu/debug/trace.py)."""
    vector = VECTOR_NAMES.get(e.vector_offset, hex(e.vector_offset))
    if e.kind != "sync":
        return f"trap: {e.kind.upper()} EL{e.from_el}->EL{e.to_el} from {e.elr:#x} -> {vector} {e.vector:#x}\n"
    at = insn_address(e.esr, e.elr)
    parts = [f"trap: EL{e.from_el}->EL{e.to_el} {describe(e.esr)} ESR_EL2={e.esr:#x}"]
    if e.far is not None:
        parts.append(f"FAR_EL2={e.far:#x}")
    if ec_of(e.esr) in ABORT_CLASSES and e.from_el < 2:
        parts.append(f"HPFAR_EL2={m.cpu.read_sysreg('HPFAR_EL2'):#x}")
    parts.append(f"at {at:#x} <{m.symbolize(at, e.from_el)}> '{m.disassemble(at, e.from_el)}'")
    parts.append(f"-> {vector} {e.vector:#x}")
    return " ".join(parts) + "\n"


def cmd_trap(server: "GdbServer", args: list[str]) -> str:
    server.set_trap(_on_off(args, "trap"))
    return f"trap {'on: stopping at every exception entry to EL2' if server.trap else 'off'}\n"


def cmd_phys(server: "GdbServer", args: list[str]) -> str:
    server.phys = _on_off(args, "phys")
    return f"memory accesses use {'physical' if server.phys else 'virtual (current EL)'} addresses\n"


def cmd_stage2(server: "GdbServer", args: list[str]) -> str:
    if len(args) != 1:
        raise EmuError("usage: monitor stage2 IPA")
    m = server.m
    ipa = _int_arg(args[0], "stage2")
    vttbr, vtcr, walk = _walk(m, ipa)
    hcr = m.cpu.read_sysreg("HCR_EL2")
    lines = [f"VTTBR_EL2 {vttbr:#x} (VMID {vttbr >> 48}) VTCR_EL2 {vtcr:#x}"
             f"{'' if hcr & 1 else ' (HCR_EL2.VM is 0: stage 2 is off)'}"]
    lines += walk.describe()
    owner = _tenant_at(m, walk.pa)
    if owner is not None:
        lines.append(f"PA {walk.pa:#x} is in tenant {owner.index} ({owner.name})'s RAM")
    return "\n".join(lines) + "\n"


def cmd_tenant(server: "GdbServer", args: list[str]) -> str:
    m = server.m
    el = m.cpu.el
    where = f"CPU at EL{el} ({'hypervisor' if el == 2 else 'tenant' if el < 2 else 'firmware'}), PC {m.cpu.pc:#x}"
    if not m.tenants:
        return f"{where}; this image has no tenants\n"
    if not m.cpu.read_sysreg("HCR_EL2") & 1:
        return f"{where}; stage 2 is off (HCR_EL2.VM is 0): no tenant installed\n"
    # Each tenant's RAM window starts at the same IPA; where it lands says whose tables these are.
    vttbr, _vtcr, walk = _walk(m, TENANT_RAM_IPA)
    t = _tenant_at(m, walk.pa)
    if t is None:
        got = f"PA {walk.pa:#x}" if walk.pa is not None else walk.fault
        return f"{where}; VTTBR_EL2 {vttbr:#x} maps IPA {TENANT_RAM_IPA:#x} to no tenant's RAM ({got})\n"
    return (f"{where}; stage 2 of tenant {t.index} ({t.name}): IPA {TENANT_RAM_IPA:#x} -> PA {walk.pa:#x}, "
            f"VTTBR_EL2 {vttbr:#x}\n")


def _fmt(value) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    return str(value)


# GICH_LRn fields (Arm IHI 0048B, 5.3.10).
_LR_STATES = ("invalid", "pending", "active", "pending+active")
_PPI_BITS = 0xFFFF0000  # INTIDs 16-31 of the private range; 0-15 are SGIs


def _intids(mask: int, base: int = 0) -> str:
    ids = [base + i for i in range(mask.bit_length()) if mask >> i & 1]
    return "[" + ", ".join(str(i) for i in ids) + "]" if ids else "none"


def _describe_lr(i: int, lr: int) -> str:
    state = (lr >> 28) & 3
    if state == 0:
        return f"  LR{i} {lr:#010x} invalid"
    text = (f"  LR{i} {lr:#010x} {_LR_STATES[state]} virtual INTID {lr & 0x3FF} "
            f"priority {((lr >> 23) & 0x1F) << 3:#x} group {(lr >> 30) & 1}")
    if lr >> 31:
        text += f" HW physical INTID {(lr >> 10) & 0x3FF}"
    return text


def _gicv2_summary(state: dict) -> list[str]:
    """Pending, active and enabled interrupts and the list registers, from Gicv2.state()."""
    d = state["gicd"]
    lines = [f"GICD_CTLR {d['regs'].get('CTLR', 0):#x}"]
    spi_pending = d["spi_latch"] | (d["spi_level"] & ~d["spi_edge"])
    for cpu in range(state.get("num_cpus", 1)):
        sgi = sum(1 << i for i, sources in enumerate(d["sgi_sources"][cpu]) if sources)
        pending = d["priv_latch"][cpu] | (d["priv_level"][cpu] & ~d["priv_edge"][cpu] & _PPI_BITS) | sgi
        pending |= spi_pending & ~0xFFFFFFFF
        active = d["priv_active"][cpu] | (d["spi_active"] & ~0xFFFFFFFF)
        enabled = d["priv_enabled"][cpu] | (d["spi_enabled"] & ~0xFFFFFFFF)
        lines.append(f"cpu{cpu}: pending {_intids(pending)}; active {_intids(active)}; enabled {_intids(enabled)}")
        gicc = state["gicc"]["banks"][cpu]
        lines.append(f"  GICC_CTLR {gicc.get('CTLR', 0):#x} GICC_PMR {gicc.get('PMR', 0):#x}")
        gich = state["gich"]["banks"][cpu]
        lines.append(f"  GICH_HCR {gich.get('HCR', 0):#x} GICH_VMCR {gich.get('VMCR', 0):#x} "
                     f"GICH_APR {gich.get('APR', 0):#x}")
        lines += [_describe_lr(i, lr) for i, lr in enumerate(gich["LR"])]
    return lines


def _matching(prefix: str, value, keys: tuple[str, ...]) -> list[str]:
    # Generic fallback over a state layout we do not know: whatever looks like pending,
    # active or list-register state, at any depth.
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _matching(f"{prefix}.{k}" if prefix else str(k), v, keys)
    elif any(s in prefix.lower().rsplit(".", 1)[-1] for s in keys):
        out.append(f"{prefix}: {_fmt(value)}")
    return out


def cmd_gic(server: "GdbServer", args: list[str]) -> str:
    gic = getattr(server.m, "gic", None)
    if gic is None:
        return "this machine has no GIC model\n"
    state_of = getattr(gic, "state", None)
    if state_of is None:
        return f"the GIC model ({type(gic).__name__}) has no state() to show\n"
    state = state_of()
    try:
        lines = _gicv2_summary(state)
    except (KeyError, TypeError, IndexError, AttributeError):
        lines = _matching("", state, ("pend", "activ", "lr", "latch"))
    return "\n".join(lines) + "\n" if lines else f"{_fmt(state)}\n"


def cmd_help(server: "GdbServer", args: list[str]) -> str:
    return HELP


COMMANDS = {
    "trap": cmd_trap,
    "stage2": cmd_stage2,
    "tenant": cmd_tenant,
    "gic": cmd_gic,
    "phys": cmd_phys,
    "help": cmd_help,
}


def run_command(server: "GdbServer", line: str) -> str:
    """Output of one monitor command; errors are one line, never an exception."""
    words = line.split()
    if not words:
        return HELP
    fn = COMMANDS.get(words[0].lower())
    if fn is None:
        return f"unknown monitor command {words[0]!r}; try 'monitor help'\n"
    try:
        return fn(server, words[1:])
    except EmuError as err:
        return f"{err}\n"
    except (UcError, ValueError, KeyError) as err:
        return f"monitor {words[0]}: {err}\n"
