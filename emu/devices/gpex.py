"""Generic PCI Express host bridge: the configuration space window (ECAM, PCI Express Base
Specification 7.2.2 "PCI Express Enhanced Configuration Access Mechanism") of QEMU's GPEX
(hw/pci-host/gpex.c), with its host bridge function at 00:00.0 and nothing else on the bus.

Linux (pci-host-ecam-generic) and U-Boot (pcie_ecam_generic) enumerate the bus through this
window; with only the host bridge answering they find no devices, as on QEMU's virt without
``-device``.

Interface
    MMIO      256 MiB (SIZE 0x1000_0000): 256 buses * 32 devices * 8 functions * 4 KiB, the
              function at bus B, device D, function F at (B << 20) | (D << 15) | (F << 12);
              byte, halfword and word accesses (PCI configuration accesses, 7.2.2).
    IRQ out   none (no device to raise INTx or MSIs).
    Not modelled
              the PCIe memory and I/O windows (QEMU virt: 0x1000_0000, 0x3eff_0000 and
              0x80_0000_0000), INTx routing (QEMU: SPIs 3-6), any device or bridge behind
              the host bridge, its capability list (there is none on QEMU either).

The host bridge is a conventional PCI function (QEMU's "gpex-root"): a type 0 header,
vendor 0x1b36 (Red Hat), device 0x0008, class 0x060000 (host bridge), subsystem 0x1af4:0x1100
(QEMU's defaults). Writes change only the bits QEMU's write masks allow: COMMAND's I/O, memory,
bus-master, SERR# and INTx-disable enables, the cache line size, the interrupt line and the
device-specific dwords 0x40-0xFF; other writes are ignored without complaint, as the PCI
specification treats writes to read-only configuration fields. Its 256-byte configuration
space ends at 0xFF: offsets 0x100-0xFFF read all ones (QEMU), as does every function that
is not there (PCIe 2.3.2: a configuration read that no function completes returns all ones);
writes to them are ignored.
"""

from __future__ import annotations

from .base import MmioDevice
from .log import LogSink
from .regs import RW, Field, Reg, RegisterMap, flags

ECAM_SIZE = 256 << 20
FUNCTION_SIZE = 0x1000
CONFIG_SIZE = 0x100          # conventional PCI configuration space of the host bridge

VENDOR_REDHAT = 0x1B36
DEVICE_REDHAT_PCIE_HOST = 0x0008
CLASS_BRIDGE_HOST = 0x0600
SUBVENDOR_REDHAT_QUMRANET = 0x1AF4
SUBDEVICE_QEMU = 0x1100

# COMMAND bits QEMU lets software set on the host bridge (PCI 3.0 6.2.2).
COMMAND = flags("IO", "MEMORY", "MASTER", None, None, None, None, None, "SERR", None,
                "INTX_DISABLE")
COMMAND_WRITABLE = sum(f.mask for f in COMMAND)


def _ro(name: str, offset: int, reset: int = 0, **kw) -> Reg:
    """A header dword software cannot change; a write to it is ignored, not an error."""
    return Reg(name, offset, reset=reset, mask=0, **kw)


class GpexEcam(MmioDevice):
    """QEMU's generic PCIe host bridge seen through its ECAM. See the module docstring."""

    SIZE = ECAM_SIZE

    REGS = RegisterMap(
        # The host bridge's type 0 header (PCI 3.0 6.1), one dword each.
        _ro("ID", 0x00, DEVICE_REDHAT_PCIE_HOST << 16 | VENDOR_REDHAT,
            fields=(Field("VendorID", 0, 16), Field("DeviceID", 16, 16))),
        Reg("COMMAND_STATUS", 0x04, mask=COMMAND_WRITABLE, fields=COMMAND + (Field("STATUS", 16, 16),)),
        _ro("CLASS_REVISION", 0x08, CLASS_BRIDGE_HOST << 16,
            fields=(Field("RevisionID", 0, 8), Field("ClassCode", 8, 24))),
        Reg("BIST_HEADER_LATENCY_CACHELINE", 0x0C, mask=0xFF,
            fields=(Field("CacheLineSize", 0, 8), Field("LatencyTimer", 8, 8),
                    Field("HeaderType", 16, 8), Field("BIST", 24, 8))),
        _ro("BAR", 0x10, count=6),
        _ro("CARDBUS_CIS", 0x28),
        _ro("SUBSYSTEM", 0x2C, SUBDEVICE_QEMU << 16 | SUBVENDOR_REDHAT_QUMRANET,
            fields=(Field("SubsystemVendorID", 0, 16), Field("SubsystemID", 16, 16))),
        _ro("EXPANSION_ROM", 0x30),
        _ro("CAPABILITIES", 0x34, fields=(Field("CapabilitiesPointer", 0, 8),)),
        _ro("RESERVED", 0x38),
        Reg("INTERRUPT", 0x3C, mask=0xFF,
            fields=(Field("InterruptLine", 0, 8), Field("InterruptPin", 8, 8),
                    Field("MinGnt", 16, 8), Field("MaxLat", 24, 8))),
        Reg("DEVICE_SPECIFIC", 0x40, access=RW, count=(CONFIG_SIZE - 0x40) // 4),
        sizes=(1, 2, 4),
    )

    def __init__(self, log: LogSink | None = None, name: str = "gpex"):
        super().__init__(log=log, name=name)

    def read(self, offset: int, size: int) -> int:
        if offset < CONFIG_SIZE:
            return super().read(offset, size)
        value = (1 << (8 * size)) - 1  # no function there, or past the host bridge's 256 bytes
        if self.trace is not None:
            self.trace(self.name, "read", offset, size, value, None)
        return value

    def write(self, offset: int, size: int, value: int) -> None:
        if offset < CONFIG_SIZE:
            super().write(offset, size, value)
        elif self.trace is not None:
            self.trace(self.name, "write", offset, size, value & ((1 << (8 * size)) - 1), None)

    @staticmethod
    def ecam_offset(bus: int, device: int, function: int, register: int = 0) -> int:
        """Where a function's configuration register sits in the window (PCIe 7.2.2)."""
        return bus << 20 | device << 15 | function << 12 | register
