"""A timeline of a run in the Chrome trace-event format, which Perfetto and chrome://tracing open.

Per core, two tracks: one shows which exception level and tenant ran (spans "EL2 hyp",
"EL1 hello", ...), the other one slice per trap to EL2 (from the exception entry to the ERET
that ends it), named by its exception class; interrupts are instant events. Time is virtual
time in microseconds (deterministic mode: reproducible).

Returns to a lower EL are seen by hooking the ERET instructions of the loaded images (found by
scanning their executable segments), so the cost is one Python call per ERET, only while a
timeline is being recorded.
"""

from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING

from unicorn import UC_HOOK_CODE

from ..cpu.core import ExceptionEntry
from ..cpu.esr import ec_name, ec_of
from .trace import virtual_ns

if TYPE_CHECKING:
    from ..machine import Machine

ERET = 0xD69F03E0
PID = 1


class Timeline:
    def __init__(self, machine: "Machine"):
        self.m = machine
        self.events: list[dict] = [{"ph": "M", "pid": PID, "name": "process_name", "args": {"name": "emu"}}]
        for core in machine.cores:
            n = core.index
            self.events += [
                {"ph": "M", "pid": PID, "tid": 2 * n, "name": "thread_name", "args": {"name": f"cpu{n}: EL / tenant"}},
                {"ph": "M", "pid": PID, "tid": 2 * n + 1, "name": "thread_name",
                 "args": {"name": f"cpu{n}: traps to EL2"}},
            ]
        # Per core (by index): the span open on its first track (name, start us) and the trap
        # open on its second.
        self._span: dict[int, tuple[str, float]] = {}
        self._trap: dict[int, tuple[str, float, dict]] = {}
        machine.add_observer(self.on_exception)
        self._hooks = []
        self._hooked: set[int] = set()

    def hook_erets(self) -> None:
        """Hook every ERET in the loaded images' executable segments (call after loading)."""
        for image in self.m.images:
            for seg in image.segments:
                if "x" not in seg.flags:
                    continue
                data = seg.data
                for off in range(0, len(data) - 3, 4):
                    if struct.unpack_from("<I", data, off)[0] == ERET:
                        addr = seg.addr + off
                        if addr not in self._hooked:
                            self._hooked.add(addr)
                            self._hooks.append(self.m.hooks.add(UC_HOOK_CODE, self._on_eret, None, addr, addr))

    def _now(self) -> float:
        return round(virtual_ns(self.m) / 1000.0, 3)

    def _open(self, name: str, core: int | None = None) -> None:
        core = self.m.core.index if core is None else core
        now = self._now()
        span = self._span.get(core)
        if span is not None:
            self.events.append({"ph": "X", "pid": PID, "tid": 2 * core, "name": span[0], "ts": span[1],
                                "dur": round(max(0.0, now - span[1]), 3), "cat": "el"})
        self._span[core] = (name, now)

    def _context(self, el: int) -> str:
        if el == 2:
            return "EL2 hyp"
        name = self.m.tenant_name()
        return f"EL{el} {name}" if name else f"EL{el}"

    def on_exception(self, e: ExceptionEntry) -> None:
        core = self.m.core.index
        now = self._now()
        if e.kind in ("irq", "fiq"):
            self.events.append({"ph": "i", "pid": PID, "tid": 2 * core, "s": "t", "ts": now, "cat": "irq",
                                "name": f"{e.kind.upper()} EL{e.from_el}->EL{e.to_el}", "args": {"elr": hex(e.elr)}})
        if core not in self._span:
            self._span[core] = (self._context(e.from_el), 0.0)
        if e.to_el != e.from_el:
            name = ec_name(ec_of(e.esr)) if e.kind == "sync" else e.kind.upper()
            self._trap[core] = (name, now, {"esr": hex(e.esr), "elr": hex(e.elr), "from": self._span[core][0]})
            self._open(self._context(e.to_el))

    def _on_eret(self, uc, addr: int, size: int, _ud) -> None:
        cpu, core = self.m.cpu, self.m.core.index
        spsr = cpu.read_sysreg("SPSR_EL2") if cpu.el == 2 else cpu.read_sysreg("SPSR_EL1")
        target = (spsr >> 2) & 3
        now = self._now()
        trap = self._trap.get(core)
        if trap is not None and cpu.el == 2:
            name, start, args = trap
            self.events.append({"ph": "X", "pid": PID, "tid": 2 * core + 1, "name": name, "ts": start,
                                "dur": round(max(0.0, now - start), 3), "cat": "trap", "args": args})
            del self._trap[core]
        if core not in self._span:
            self._span[core] = (self._context(cpu.el), 0.0)
        self._open(self._context(target))

    def finish(self) -> dict:
        for core in list(self._span):
            self._open("end", core)
        self._span.clear()
        return {"traceEvents": self.events, "displayTimeUnit": "ns",
                "otherData": {"clock": self.m.clock.mode, "unit": "virtual microseconds"}}

    def write(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump(self.finish(), f)
