"""What a loader produces and what the machine places in memory: segments, entry, symbols."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Segment:
    """Bytes to place at a physical address; ``memsz`` beyond ``len(data)`` is zero-filled."""

    addr: int
    data: bytes
    memsz: int
    flags: str = "rwx"

    @property
    def end(self) -> int:
        return self.addr + self.memsz


@dataclass
class Image:
    """A loadable image: an ELF, a raw binary with a load address, or a packed system."""

    name: str
    entry: int
    segments: list[Segment]
    symbols: dict[str, int] = field(default_factory=dict)

    def contains(self, addr: int) -> bool:
        return any(s.addr <= addr < s.end for s in self.segments)


class SymbolTable:
    """Address -> ``name+offset`` lookup over one or more images' symbols."""

    def __init__(self, symbols: dict[str, int] | None = None):
        self._addrs: list[int] = []
        self._names: list[str] = []
        if symbols:
            self.add(symbols)

    def add(self, symbols: dict[str, int], prefix: str = "") -> None:
        pairs = sorted(zip(self._addrs, self._names))
        pairs += [(addr, prefix + name) for name, addr in symbols.items()]
        pairs.sort()
        self._addrs = [a for a, _ in pairs]
        self._names = [n for _, n in pairs]

    def lookup(self, addr: int, max_offset: int = 0x10000) -> str | None:
        i = bisect.bisect_right(self._addrs, addr) - 1
        if i < 0 or addr - self._addrs[i] > max_offset:
            return None
        off = addr - self._addrs[i]
        return self._names[i] if off == 0 else f"{self._names[i]}+{off:#x}"
