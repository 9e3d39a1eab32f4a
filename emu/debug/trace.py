"""Execution trace: one line per event, as text or JSON lines, stamped with virtual time.

Only the categories asked for are hooked, so a run without ``--trace`` pays nothing for it.

- ``exceptions``: every exception entry: source and target EL, the EC name from the Arm ARM,
  the decoded ISS, FAR/HPFAR for aborts, the instruction that raised it (Capstone), its symbol.
- ``irq``: IRQ/FIQ entries (physical and virtual), with the vector taken.
- ``hypercalls``: HVC/SMC with the SMCCC function ID (W0) and its name where known.
- ``mmio``: every device register access: device, register, size, value.
- ``tenants``: the tenant running at EL1 changed (seen at its next exception entry).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TextIO

from unicorn.arm64_const import UC_ARM64_REG_X0, UC_ARM64_REG_X1

from ..cpu.clock import COUNTER_HZ
from ..cpu.core import VECTOR_NAMES, ExceptionEntry
from ..cpu.esr import EC_DABT_LOW, EC_HVC64, EC_IABT_LOW, EC_SMC64, decode_iss, ec_name, ec_of, insn_address
from ..errors import EmuError

if TYPE_CHECKING:
    from ..machine import Machine

CATEGORIES = ("exceptions", "irq", "hypercalls", "mmio", "tenants")
ALIASES = {"exception": "exceptions", "interrupts": "irq", "hvc": "hypercalls", "hypercall": "hypercalls",
           "tenant": "tenants", "switches": "tenants"}

# SMCCC / PSCI function IDs worth naming (Arm DEN 0028, DEN 0022; firmware/include/smccc.inc).
FUNCTION_NAMES = {
    0x80000000: "SMCCC_VERSION", 0x84000000: "PSCI_VERSION", 0x84000002: "PSCI_CPU_OFF",
    0xC4000003: "PSCI_CPU_ON", 0x84000008: "PSCI_SYSTEM_OFF", 0x84000009: "PSCI_SYSTEM_RESET",
    0x8400000A: "PSCI_FEATURES", 0x86000001: "HYP_CONSOLE_PUTC", 0x86000002: "HYP_YIELD",
    0x86000003: "HYP_CONSOLE_WRITE", 0x86000004: "HYP_TENANT_ID",
}


def parse_categories(text: str) -> set[str]:
    cats = {ALIASES.get(c.strip(), c.strip()) for c in text.split(",") if c.strip()}
    unknown = cats - set(CATEGORIES)
    if unknown:
        raise EmuError(f"unknown trace category {', '.join(sorted(unknown))} (known: {', '.join(CATEGORIES)})")
    return cats


def virtual_ns(m: "Machine") -> int:
    return m.clock.now() * 1_000_000_000 // COUNTER_HZ


class Tracer:
    def __init__(self, machine: "Machine", categories: set[str] | str, out: TextIO, fmt: str = "text"):
        if isinstance(categories, str):
            categories = parse_categories(categories)
        else:
            categories = parse_categories(",".join(categories))
        self.m = machine
        self.out = out
        self.fmt = fmt
        self.cats = categories
        self.lines = 0
        self._tenant: str | None = None
        if categories & {"exceptions", "irq", "hypercalls", "tenants"}:
            machine.add_observer(self.on_exception)
        if "mmio" in categories:
            for name, dev in machine.mmio_devices():
                dev.trace = self.on_mmio

    def emit(self, record: dict, text: str) -> None:
        self.lines += 1
        t = virtual_ns(self.m)
        if len(self.m.cores) > 1:
            # With several cores every line says which one it happened on.
            record["core"] = self.m.core.index
            text = f"cpu{self.m.core.index} {text}"
        if self.fmt == "json":
            record["t_ns"] = t
            self.out.write(json.dumps(record, sort_keys=True) + "\n")
        else:
            self.out.write(f"{t / 1000:14.3f}us {text}\n")

    # -- exceptions, interrupts, hypercalls, tenants -----------------------------------------------

    def on_exception(self, e: ExceptionEntry) -> None:
        m = self.m
        if "tenants" in self.cats and e.from_el < 2:
            name = m.tenant_name()
            if name != self._tenant:
                self.emit({"event": "tenant", "tenant": name, "previous": self._tenant},
                          f"tenant {self._tenant or '-'} -> {name or '-'}")
                self._tenant = name
        if e.kind in ("irq", "fiq"):
            if "irq" in self.cats:
                virtual = e.to_el == 1 and e.from_el < 2 and (m.cpu.lines["virq"] or m.cpu.lines["vfiq"])
                kind = ("v" if virtual else "") + e.kind.upper()
                rec = {"event": "interrupt", "kind": kind, "from_el": e.from_el, "to_el": e.to_el,
                       "vector": VECTOR_NAMES.get(e.vector_offset, hex(e.vector_offset)), "elr": e.elr,
                       "symbol": m.symbolize(e.elr, e.from_el)}
                self.emit(rec, f"irq  EL{e.from_el}->EL{e.to_el} {kind} at {e.elr:#x} <{rec['symbol']}> -> {rec['vector']}")
            if "exceptions" in self.cats:
                self._exception(e)
            return
        ec = ec_of(e.esr)
        if "hypercalls" in self.cats and ec in (EC_HVC64, EC_SMC64):
            fid = m.uc.reg_read(UC_ARM64_REG_X0) & 0xFFFFFFFF
            at = insn_address(e.esr, e.elr)
            name = FUNCTION_NAMES.get(fid, f"{fid:#x}")
            rec = {"event": "hypercall", "call": "hvc" if ec == EC_HVC64 else "smc", "function": fid,
                   "name": name, "x1": m.uc.reg_read(UC_ARM64_REG_X1), "from_el": e.from_el,
                   "pc": at, "symbol": m.symbolize(at, e.from_el)}
            self.emit(rec, f"{rec['call']}  EL{e.from_el}->EL{e.to_el} {name} ({fid:#x}) x1={rec['x1']:#x} "
                           f"at {at:#x} <{rec['symbol']}>")
        if "exceptions" in self.cats:
            self._exception(e)

    def _exception(self, e: ExceptionEntry) -> None:
        m = self.m
        rec: dict = {"event": "exception", "kind": e.kind, "from_el": e.from_el, "to_el": e.to_el,
                     "vector": VECTOR_NAMES.get(e.vector_offset, hex(e.vector_offset)), "elr": e.elr}
        parts = [f"exc  EL{e.from_el}->EL{e.to_el}"]
        if e.kind == "sync":
            ec = ec_of(e.esr)
            insn_addr = insn_address(e.esr, e.elr)
            rec.update(ec=ec, ec_name=ec_name(ec), iss=decode_iss(e.esr), esr=e.esr)
            parts += [ec_name(ec), decode_iss(e.esr), f"ESR={e.esr:#x}"]
            if e.far is not None:
                rec["far"] = e.far
                parts.append(f"FAR={e.far:#x}")
            if e.to_el == 2 and ec in (EC_DABT_LOW, EC_IABT_LOW):
                hpfar = m.cpu.read_sysreg("HPFAR_EL2")
                rec["hpfar"] = hpfar
                parts.append(f"HPFAR={hpfar:#x}")
        else:
            insn_addr = e.elr
            parts.append(e.kind.upper())
        sym = m.symbolize(insn_addr, e.from_el)
        insn = m.disassemble(insn_addr, e.from_el)
        rec.update(pc=insn_addr, symbol=sym, insn=insn)
        parts += [f"at {insn_addr:#x} <{sym}>", f"'{insn}'", f"-> {rec['vector']} {e.vector:#x}"]
        self.emit(rec, " ".join(parts))

    # -- device registers -------------------------------------------------------------------------

    def on_mmio(self, device, op: str, offset: int, size: int, value: int, register) -> None:
        # The register framework passes the device's name and the register's label (or None).
        dev = device if isinstance(device, str) else getattr(device, "name", type(device).__name__)
        reg = register if isinstance(register, str) else (getattr(register, "name", None) or f"+{offset:#x}")
        rec = {"event": "mmio", "device": dev, "op": op, "offset": offset, "register": reg, "size": size,
               "value": value, "pc": self.m.cpu.pc}
        arrow = "<-" if op == "write" else "->"
        self.emit(rec, f"mmio {dev}.{reg} {arrow} {value:#x} ({size} bytes, {op})")
