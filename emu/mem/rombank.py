"""A bank of a ROM device (a CFI flash bank) in Unicorn's address space.

QEMU maps a ROM device's array straight into the guest while the device is in ROMD
(read-array) mode and sends every access to the device model otherwise. Unicorn can do both,
but changing a mapping costs time in proportion to its size: unmapping a 64 MiB bank takes
about 7 ms, and U-Boot's flash probe changes mode about a thousand times.

So a bank is mapped as windows of ``WINDOW`` bytes, each either memory (the array, read and
execute) or MMIO (the device). Leaving ROMD mode turns every memory window into MMIO, since
reads must now return status or query data. Coming back to ROMD mode changes nothing at once:
a window is made memory again the first time the guest reads from it or runs code in it. A
bank that is only probed never has a memory window to unmap, and one that code runs from pays
for the windows it uses.

Writes reach the device in either state: through MMIO, or through the write-protection hook
of a memory window (the machine's ``_on_protected``). The machine settles the windows between
guest accesses, never in the middle of one, because Unicorn cannot change a mapping while an
access to it is under way."""

from __future__ import annotations

import ctypes
import mmap
from typing import Callable

from unicorn import Uc

#: The size of the unit the bank is remapped in. Smaller windows remap faster and larger ones
#: need fewer stops and fewer Unicorn regions; 1 MiB unmaps in about 0.12 ms.
WINDOW = 1 << 20


def buffer_address(buf: mmap.mmap) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(buf))


class _Window:
    """One window's MMIO face: accesses go to the bank's device at the bank offset."""

    def __init__(self, bank: "RomBank", index: int):
        self.bank, self.index, self.offset = bank, index, index * WINDOW

    def read(self, offset: int, size: int) -> int:
        bank = self.bank
        value = bank.device.read(self.offset + offset, size)
        if bank.device.romd:
            bank.want(self.index)  # the array is being read: map it as memory
        return value

    def write(self, offset: int, size: int, value: int) -> None:
        bank = self.bank
        bank.device.write(self.offset + offset, size, value)
        if not bank.device.romd and True in bank.memory:
            bank.changed()  # out of ROMD mode: the memory windows must become MMIO


class RomBank:
    """Host memory holding the array, the device model over it, and each window's mapping.

    ``maps`` are the (Unicorn, MMIO bus) pairs of every core: each core has its own address
    space, and every window is mapped the same way in all of them. ``changed`` is the
    machine's request to settle the bank after the current access."""

    def __init__(self, maps: list[tuple[Uc, object]], base: int, size: int, perms: int,
                 changed: Callable[[], None]):
        if base % WINDOW or size % WINDOW:
            raise ValueError(f"ROM bank {base:#x}+{size:#x} is not a multiple of {WINDOW:#x}")
        self.maps = maps
        self.base, self.size, self.perms = base, size, perms
        self.backing = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        self._address = buffer_address(self.backing)
        self.device = None
        self.memory = [False] * (size // WINDOW)   # per window: mapped as memory (else MMIO)
        self.wanted: set[int] = set()              # windows to map as memory at the next settle
        self.keep: list[tuple[int, bytes]] = []    # array bytes a dropped store may have hit
        self.changed = changed
        for index in range(len(self.memory)):
            for _uc, mmio in maps:
                mmio.map(base + index * WINDOW, WINDOW, _Window(self, index))

    def read(self, offset: int, size: int) -> int:
        return self.device.read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        """A write at a bank offset (the second half of a pair a stop cut short)."""
        self.device.write(offset, size, value)
        if not self.device.romd and True in self.memory:
            self.changed()

    def contains(self, pa: int) -> bool:
        return self.base <= pa < self.base + self.size

    def window_of(self, pa: int) -> int:
        return (pa - self.base) // WINDOW

    def want(self, index: int) -> None:
        """Map this window as memory at the next settle (if the device is still in ROMD mode)."""
        if not self.memory[index]:
            self.wanted.add(index)
            self.changed()

    def settle(self) -> None:
        """Put back the array bytes under stores the write hook dropped (Unicorn 2.1.4 lets
        such a store through to host memory once a window has been remapped), then map each
        window as the device's mode wants. Translated code from a window is dropped whenever
        its bytes or its mapping change."""
        for offset, data in self.keep:
            self.backing[offset:offset + len(data)] = data
            start = self.base + offset - offset % WINDOW
            for uc, _mmio in self.maps:
                uc.ctl_remove_cache(start, start + WINDOW)
        self.keep.clear()
        if self.device.romd:
            for index in sorted(self.wanted):
                if not self.memory[index]:
                    self._remap(index, True)
        else:
            for index, memory in enumerate(self.memory):
                if memory:
                    self._remap(index, False)
        self.wanted.clear()

    def _remap(self, index: int, memory: bool) -> None:
        start = self.base + index * WINDOW
        for uc, mmio in self.maps:
            uc.mem_unmap(start, WINDOW)
            if memory:
                uc.mem_map_ptr(start, WINDOW, self.perms, self._address + index * WINDOW)
            else:
                mmio.map(start, WINDOW, _Window(self, index))
            uc.ctl_remove_cache(start, start + WINDOW)
        self.memory[index] = memory

    def write_array(self, offset: int, data: bytes) -> None:
        """Bytes into the array from outside the guest (a loader, a debugger)."""
        self.backing[offset:offset + len(data)] = data
        for uc, _mmio in self.maps:
            uc.ctl_remove_cache(self.base + offset, self.base + offset + len(data))
