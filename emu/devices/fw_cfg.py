"""QEMU's firmware configuration device, MMIO variant (QEMU docs/specs/fw_cfg.rst; the
behaviour of QEMU 7.2's hw/nvram/fw_cfg.c as hw/arm/virt.c creates it with
fw_cfg_init_mem_wide: 8-byte data register, DMA).

Interface
    MMIO      0x18 bytes: DATA at 0x00 (reads of 1, 2, 4 or 8 bytes stream the selected item
              in order, so a little-endian load sees the bytes as they lie in the item),
              SELECTOR at 0x08 (16 bits, big-endian, write-only), DMA at 0x10 (the big-endian
              physical address of a FWCfgDmaAccess; 8-byte write, or two 4-byte writes high
              then low, the low one starting the transfer; reads "QEMU CFG").
    DMA port  ``dma.read(addr, size) -> bytes`` and ``dma.write(addr, data)`` (emu/mem/dma.py):
              the machine's physical memory; either raises DmaFault for an address that is
              not memory, which sets the control word's error bit as QEMU's failed dma_memory_*.
    Items     FW_CFG_SIGNATURE "QEMU", FW_CFG_ID (traditional interface and DMA), the file
              directory FW_CFG_FILE_DIR (files sorted by name, selectors from 0x20), and the
              ``items`` and ``files`` the constructor is given (``virt_items``/``virt_files``:
              what QEMU's virt provides that does not depend on its ACPI and SMBIOS builders).
    Not modelled
              the ACPI and SMBIOS blobs QEMU's virt adds (etc/acpi/*, etc/table-loader,
              etc/smbios/*, etc/tpm/log): a guest booted with a device tree does not read them,
              and they are left out of the directory rather than listed with made-up contents;
              writable items (DMA writes set the error bit, as QEMU's for read-only items);
              the architecture-local items (FW_CFG_ARCH_LOCAL, none on Arm).

Simplifications: a DATA read at any offset of its 8 bytes streams the item: Unicorn hands an
8-byte load to a device as two 4-byte halves, at DATA and DATA+4, and the second must go on
where the first stopped (QEMU takes only offset 0 and refuses the others on the bus, which the
CPU sees as an external abort). Writes to DATA are ignored, as QEMU's since the traditional
write interface was removed.
"""

from __future__ import annotations

import struct
from typing import Any

from ..mem.dma import DmaFault, DmaPort
from .base import MmioDevice
from .log import LogSink
from .regs import WO, Reg, RegisterMap

FW_CFG_SIGNATURE = 0x00
FW_CFG_ID = 0x01
FW_CFG_UUID = 0x02
FW_CFG_NOGRAPHIC = 0x04
FW_CFG_NB_CPUS = 0x05
FW_CFG_BOOT_MENU = 0x0E
FW_CFG_FILE_DIR = 0x19
FW_CFG_FILE_FIRST = 0x20
FW_CFG_ENTRY_MASK = 0x3FFF       # without the write channel (0x4000) and arch-local (0x8000) bits
FW_CFG_ARCH_LOCAL = 0x8000

FW_CFG_VERSION = 0x01            # ID: traditional interface
FW_CFG_VERSION_DMA = 0x02        # ID: DMA interface
FW_CFG_DMA_SIGNATURE = b"QEMU CFG"

# FWCfgDmaAccess.control
DMA_CTL_ERROR = 0x01
DMA_ZERO_CHUNK = 64 << 10  # bytes of zero fill written at a time
DMA_CTL_READ = 0x02
DMA_CTL_SKIP = 0x04
DMA_CTL_SELECT = 0x08
DMA_CTL_WRITE = 0x10

FILE_NAME_SIZE = 56
DATA_OFFSET, DMA_OFFSET = 0x00, 0x10


def virt_items(cpus: int) -> dict[int, bytes]:
    """The numbered items QEMU 7.2's virt gives (fw_cfg_common_realize, create_fw_cfg)."""
    return {
        FW_CFG_UUID: bytes(16),                          # no -uuid
        FW_CFG_NOGRAPHIC: struct.pack("<H", 0),
        FW_CFG_NB_CPUS: struct.pack("<H", cpus),
        FW_CFG_BOOT_MENU: struct.pack("<H", 0),
    }


def virt_files() -> dict[str, bytes]:
    """The named files QEMU 7.2's virt gives besides ACPI and SMBIOS (see Not modelled)."""
    return {
        "bios-geometry": b"",                            # no boot devices with geometry
        "bootorder": b"",                                # no bootindex
        "etc/boot-fail-wait": struct.pack("<i", -1),     # -boot reboot-timeout default
    }


class FwCfgMmio(MmioDevice):
    """fw_cfg, MMIO variant with DMA. See the module docstring for the interface."""

    SIZE = 0x18

    REGS = RegisterMap(
        # DATA is served by read()/write() themselves: how far the item advances depends on
        # the access size, which register handlers do not see.
        Reg("DATA", DATA_OFFSET, width=64, sizes=(1, 2, 4, 8), doc="the selected item, streamed"),
        Reg("SELECTOR", 0x08, width=16, access=WO, on_write="_write_selector",
            doc="item key, big-endian"),
        Reg("DMA", DMA_OFFSET, width=64, sizes=(4, 8), on_read="_read_dma",
            doc="FWCfgDmaAccess address, big-endian; the write of its low half starts a transfer"),
    )

    def __init__(self, dma: DmaPort, items: dict[int, bytes] | None = None,
                 files: dict[str, bytes] | None = None, log: LogSink | None = None,
                 name: str = "fw_cfg"):
        super().__init__(log=log, name=name)
        self.dma = dma
        self.entries: dict[int, bytes] = {
            FW_CFG_SIGNATURE: b"QEMU",
            FW_CFG_ID: struct.pack("<I", FW_CFG_VERSION | FW_CFG_VERSION_DMA),
            **(items or {}),
        }
        names = sorted(files or {})
        directory = struct.pack(">I", len(names))
        for i, fname in enumerate(names):
            data = files[fname]
            encoded = fname.encode()
            if len(encoded) >= FILE_NAME_SIZE:
                raise ValueError(f"fw_cfg file name {fname!r} is longer than {FILE_NAME_SIZE - 1} bytes")
            directory += struct.pack(">IHH", len(data), FW_CFG_FILE_FIRST + i, 0)
            directory += encoded.ljust(FILE_NAME_SIZE, b"\0")
            self.entries[FW_CFG_FILE_FIRST + i] = data
        self.entries[FW_CFG_FILE_DIR] = directory
        self.reset()

    # --- the selected item ---------------------------------------------------------------

    def reset(self) -> None:
        super().reset()
        self.cur_entry: int | None = None   # QEMU's FW_CFG_INVALID is None
        self.cur_offset = 0

    def select(self, key: int) -> None:
        """fw_cfg_select: an unknown key selects nothing (reads are zeros)."""
        self.cur_offset = 0
        self.cur_entry = key if (key & FW_CFG_ENTRY_MASK) in self.entries and not key & FW_CFG_ARCH_LOCAL else None

    def _item(self) -> bytes:
        return b"" if self.cur_entry is None else self.entries[self.cur_entry & FW_CFG_ENTRY_MASK]

    def _take(self, n: int) -> bytes:
        """Up to ``n`` bytes of the item from the current offset, which advances past them."""
        data = self._item()[self.cur_offset:self.cur_offset + n]
        self.cur_offset += len(data)
        return data

    # --- guest accesses ------------------------------------------------------------------

    def read(self, offset: int, size: int) -> int:
        if DATA_OFFSET <= offset < DATA_OFFSET + 8:
            value = int.from_bytes(self._take(size).ljust(size, b"\0"), "little")
            if self.trace is not None:
                self.trace(self.name, "read", offset, size, value, "DATA")
            return value
        return super().read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        if DATA_OFFSET <= offset < DATA_OFFSET + 8:
            if self.trace is not None:
                self.trace(self.name, "write", offset, size, value, "DATA")
            return  # ignored, as QEMU's (no traditional write interface since QEMU 2.4)
        super().write(offset, size, value)
        # The register keeps the guest's (little-endian) bytes of the big-endian address: an
        # 8-byte write, or the write of its low half, starts the transfer (QEMU
        # fw_cfg_dma_mem_write); a write of the high half only stores it.
        if (offset, size) in ((DMA_OFFSET, 8), (DMA_OFFSET + 4, 4)):
            address = int.from_bytes(self.regs["DMA"].to_bytes(8, "little"), "big")
            self.regs["DMA"] = 0
            self.dma_transfer(address)

    def _write_selector(self, value: int) -> None:
        self.select(int.from_bytes(value.to_bytes(2, "little"), "big"))

    def _read_dma(self) -> int:
        return int.from_bytes(FW_CFG_DMA_SIGNATURE, "little")

    # --- DMA -----------------------------------------------------------------------------

    def dma_transfer(self, address: int) -> None:
        """Run the FWCfgDmaAccess at ``address`` and write its control word back: 0, or
        DMA_CTL_ERROR (QEMU fw_cfg_dma_transfer)."""
        try:
            control, length, target = struct.unpack(">IIQ", self.dma.read(address, 16))
        except DmaFault:  # the port says the address is not memory
            self.guest_error(f"DMA access structure at {address:#x} is not memory")
            self._write_control(address, DMA_CTL_ERROR)
            return
        if control & DMA_CTL_SELECT:
            self.select(control >> 16)
        read = bool(control & DMA_CTL_READ)
        write = not read and bool(control & DMA_CTL_WRITE)
        if not (read or write or control & DMA_CTL_SKIP):
            length = 0
        status = 0
        while length > 0 and not status & DMA_CTL_ERROR:
            data = self._take(length)
            # Past the item's end the rest is zeros, in bounded pieces: the length is the
            # guest's (up to 4 GiB) and must not become one host allocation.
            n = len(data) or min(length, DMA_ZERO_CHUNK)
            try:
                if read:
                    self.dma.write(target, data or bytes(n))
            except DmaFault:
                status |= DMA_CTL_ERROR
            if write:
                status |= DMA_CTL_ERROR    # no item is writable
            target += n
            length -= n
        self._write_control(address, status)

    def _write_control(self, address: int, control: int) -> None:
        try:
            self.dma.write(address, struct.pack(">I", control))
        except DmaFault:
            self.guest_error(f"cannot write the DMA control word back to {address:#x}")

    # --- life cycle ------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        s = super().state()
        s["selected"] = int(self.cur_entry is not None)
        s["cur_entry"] = self.cur_entry or 0
        s["cur_offset"] = self.cur_offset
        return s

    def from_state(self, state: dict[str, Any]) -> None:
        super().from_state(state)
        entry = int(state.get("cur_entry", 0)) & 0xFFFF
        self.cur_entry = entry if state.get("selected") else None
        self.cur_offset = int(state.get("cur_offset", 0))
