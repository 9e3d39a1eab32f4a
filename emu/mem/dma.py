"""DMA ports: how a device model reaches memory.

A device that reads or writes memory on its own (fw_cfg's DMA, the TOE's descriptors) is given a
port when it is built and uses nothing else. The port is either the physical bus
(:class:`PhysicalPort`) or one stream of an IOMMU (``emu.devices.smmuv3.SmmuStream``): the
device calls ``read(addr, size)`` and ``write(addr, data)`` alike and never knows which it has,
as a real device does not know whether an SMMU sits between it and the interconnect.

A transfer the port refuses raises :class:`DmaFault`: an address that is not memory on the
physical bus, or a translation fault, a permission fault or an aborting stream behind an IOMMU.
Nothing of a refused transfer reaches memory. The device turns the fault into what its software
sees (an error status, an interrupt), never into an exception out of the emulator.

A write through any port that lands on code drops every core's translated blocks of those bytes:
the physical port writes through ``Machine.write_phys``, which does that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..machine import Machine


class DmaFault(Exception):
    """A DMA transfer the port refused: nothing was read or written. ``addr`` is the address
    the device gave (an IOVA behind an IOMMU)."""

    def __init__(self, addr: int, size: int, write: bool, reason: str):
        super().__init__(f"DMA {'write' if write else 'read'} of {size} bytes at {addr:#x}: {reason}")
        self.addr = addr
        self.size = size
        self.write = write
        self.reason = reason


class DmaPort(Protocol):
    """What a device's DMA sees: reads and writes of bytes at addresses, or DmaFault."""

    def read(self, addr: int, size: int) -> bytes: ...

    def write(self, addr: int, data: bytes) -> None: ...


class PhysicalPort:
    """The physical bus: RAM and ROM can be read, RAM written; a device register, a hole or a
    region without write permission is a :class:`DmaFault` (a device's DMA does not reach another
    device's registers on this board)."""

    def __init__(self, machine: "Machine"):
        self._machine = machine

    def _region(self, addr: int, size: int, access: str):
        return next((r for r in self._machine.board.memory.values()
                     if r.base <= addr and addr + size <= r.end and access in r.access), None)

    def accepts(self, addr: int, size: int, write: bool) -> bool:
        """Whether a transfer there would go through (an IOMMU asks before it writes pieces)."""
        return size >= 0 and self._region(addr, size, "w" if write else "r") is not None

    def read(self, addr: int, size: int) -> bytes:
        if size < 0 or self._region(addr, size, "r") is None:
            raise DmaFault(addr, size, False, "not readable memory")
        return self._machine.read_phys(addr, size)

    def write(self, addr: int, data: bytes) -> None:
        if self._region(addr, len(data), "w") is None:
            raise DmaFault(addr, len(data), True, "not writable memory")
        self._machine.write_phys(addr, bytes(data))   # drops any core's code translated from these bytes
