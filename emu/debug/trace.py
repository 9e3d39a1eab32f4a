"""Execution trace: one line per event, as text or JSON lines.

Only the categories asked for are hooked, so a run without ``--trace`` pays nothing for it.
Category ``exceptions``: every exception entry, with the source and target EL, the EC name from
the Arm ARM, the decoded ISS, FAR/HPFAR for aborts, the instruction that raised it (Capstone)
and its symbol.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TextIO

from ..cpu.core import VECTOR_NAMES, ExceptionEntry
from ..cpu.esr import EC_DABT_LOW, EC_IABT_LOW, decode_iss, ec_name, ec_of, insn_address

if TYPE_CHECKING:
    from ..machine import Machine

CATEGORIES = ("exceptions",)


class Tracer:
    def __init__(self, machine: "Machine", categories: set[str], out: TextIO, fmt: str = "text"):
        unknown = set(categories) - set(CATEGORIES)
        if unknown:
            from ..errors import EmuError

            raise EmuError(f"unknown trace category {', '.join(sorted(unknown))} (known: {', '.join(CATEGORIES)})")
        self.m = machine
        self.out = out
        self.fmt = fmt
        self.lines = 0
        if "exceptions" in categories:
            machine.cpu.observers.append(self.on_exception)

    def emit(self, record: dict, text: str) -> None:
        self.lines += 1
        if self.fmt == "json":
            self.out.write(json.dumps(record, sort_keys=True) + "\n")
        else:
            self.out.write(text + "\n")

    def on_exception(self, e: ExceptionEntry) -> None:
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
