"""A flat RAM from address 0 as a device's DMA port, for the device tests (emu/mem/dma.py)."""

from __future__ import annotations

from emu.mem.dma import DmaFault


class FlatMemory:
    """``size`` bytes from address 0 (zeros, or ``data``); anything above is not memory."""

    def __init__(self, size: int, data: bytes | None = None):
        self.mem = bytearray(data if data is not None else size)
        self.size = size

    def accepts(self, addr, size, write):
        return 0 <= addr and addr + size <= self.size

    def read(self, addr, size):
        if not self.accepts(addr, size, False):
            raise DmaFault(addr, size, False, "not memory")
        return bytes(self.mem[addr:addr + size])

    def write(self, addr, data):
        if not self.accepts(addr, len(data), True):
            raise DmaFault(addr, len(data), True, "not memory")
        self.mem[addr:addr + len(data)] = data

    def q(self, addr, value):
        """A little-endian doubleword at ``addr`` (a table entry)."""
        self.mem[addr:addr + 8] = value.to_bytes(8, "little")
