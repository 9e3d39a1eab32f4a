"""Software walk of the stage-2 translation tables, for traces, diagnostics and the debugger.

Unicorn translates natively; this walker only lets Python see what the guest's tables say
(Arm DDI 0487, D5.2 "The VMSAv8-64 address translation system"): 4 KiB granule, the start
level from VTCR_EL2.SL0 and the input size from VTCR_EL2.T0SZ. 16 KiB and 64 KiB granules and
concatenated start-level tables beyond what T0SZ implies are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

_ADDR_MASK = 0x0000_FFFF_FFFF_F000


@dataclass
class WalkStep:
    level: int
    table: int       # physical address of the table read
    index: int
    descriptor: int

    @property
    def kind(self) -> str:
        d = self.descriptor
        if not d & 1:
            return "invalid"
        if self.level == 3:
            return "page" if d & 2 else "reserved"
        return "table" if d & 2 else "block"


@dataclass
class Walk:
    ipa: int
    steps: list[WalkStep] = field(default_factory=list)
    pa: int | None = None
    fault: str | None = None

    def describe(self) -> list[str]:
        lines = []
        for s in self.steps:
            lines.append(f"level {s.level}: table {s.table:#x}[{s.index}] = {s.descriptor:#018x} ({s.kind})")
        lines.append(f"IPA {self.ipa:#x} -> PA {self.pa:#x}" if self.pa is not None else f"IPA {self.ipa:#x}: {self.fault}")
        return lines


def walk_stage2(vttbr: int, vtcr: int, ipa: int, read_u64: Callable[[int], int]) -> Walk:
    """Translate ``ipa`` through the stage-2 tables at VTTBR_EL2 (4 KiB granule only)."""
    w = Walk(ipa)
    if (vtcr >> 14) & 3 != 0:
        w.fault = "only the 4 KiB granule is walked"
        return w
    t0sz = vtcr & 0x3F
    sl0 = (vtcr >> 6) & 3
    start = {0: 2, 1: 1, 2: 0}.get(sl0)
    if start is None:
        w.fault = f"reserved VTCR_EL2.SL0 {sl0}"
        return w
    ia_bits = 64 - t0sz
    if ipa >> ia_bits:
        w.fault = f"IPA beyond the {ia_bits}-bit input range"
        return w
    table = vttbr & 0x0000_FFFF_FFFF_FFFE
    for level in range(start, 4):
        shift = 12 + 9 * (3 - level)
        # The start level may index with more than 9 bits (concatenated tables).
        bits = ia_bits - shift if level == start else 9
        index = (ipa >> shift) & ((1 << bits) - 1)
        desc = read_u64(table + 8 * index)
        step = WalkStep(level, table, index, desc)
        w.steps.append(step)
        kind = step.kind
        if kind in ("invalid", "reserved"):
            w.fault = f"translation fault, level {level}"
            return w
        if kind == "table":
            table = desc & _ADDR_MASK
            continue
        out_mask = ((1 << 48) - 1) & ~((1 << shift) - 1)
        w.pa = (desc & out_mask) | (ipa & ((1 << shift) - 1))
        return w
    w.fault = "walk did not terminate"
    return w
