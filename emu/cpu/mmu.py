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
    return _walk(vttbr & 0x0000_FFFF_FFFF_FFFE, ia_bits, ipa, read_u64, w, start=start)


def _walk(table: int, ia_bits: int, addr: int, read_u64: Callable[[int], int], w: Walk,
          table_pa: Callable[[int], int | None] = lambda a: a, start: int | None = None) -> Walk:
    """A 4 KiB-granule walk (D5.2.6) from ``start``, by default the level that ``ia_bits``
    implies; a start level given explicitly (VTCR_EL2.SL0) may index concatenated tables."""
    if start is None:
        start = 4 - -(-(ia_bits - 12) // 9)
    for level in range(start, 4):
        shift = 12 + 9 * (3 - level)
        bits = ia_bits - shift if level == start else 9
        index = (addr >> shift) & ((1 << bits) - 1)
        pa = table_pa(table + 8 * index)
        if pa is None:
            w.fault = f"stage-2 fault on the level {level} table at IPA {table:#x}"
            return w
        desc = read_u64(pa)
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
        w.pa = (desc & out_mask) | (addr & ((1 << shift) - 1))
        return w
    w.fault = "walk did not terminate"
    return w


def walk_stage1(va: int, tcr: int, ttbr0: int, ttbr1: int | None, read_u64: Callable[[int], int],
                table_pa: Callable[[int], int | None] = lambda a: a) -> Walk:
    """Translate a VA through stage 1 (4 KiB granule). ``ttbr1`` is None for EL2 (one range,
    TCR_EL2.T0SZ). ``table_pa`` maps a table's address to where it really is (stage 2 for an
    EL1 walk under a hypervisor). The result's ``pa`` is the output address: an IPA at EL1
    when stage 2 is on."""
    w = Walk(va)
    upper = ttbr1 is not None and va >> 63
    if upper:
        tsz, tg, ttbr = (tcr >> 16) & 0x3F, (tcr >> 30) & 3, ttbr1
        granule_4k = tg == 2
    else:
        tsz, tg, ttbr = tcr & 0x3F, (tcr >> 14) & 3, ttbr0
        granule_4k = tg == 0
    if not granule_4k:
        w.fault = "only the 4 KiB granule is walked"
        return w
    ia_bits = 64 - tsz
    top = va >> ia_bits
    if top != ((1 << (64 - ia_bits)) - 1 if upper else 0):
        w.fault = f"VA outside the {ia_bits}-bit {'TTBR1' if upper else 'TTBR0'} range"
        return w
    return _walk(ttbr & _ADDR_MASK, ia_bits, va & ((1 << ia_bits) - 1), read_u64, w, table_pa)
