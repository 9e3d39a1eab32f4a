"""A bank of virtio-mmio transports with no device behind them, per the Virtual I/O Device
(VIRTIO) specification v1.2, 4.2 "Virtio Over MMIO", with the behaviour of QEMU's
hw/virtio/virtio-mmio.c for a transport that has no backend plugged in.

QEMU's virt board creates 32 such transports, 0x200 bytes apart from 0x0a00_0000, and plugs
a device into one only when asked (``-device virtio-...-device``). Linux and U-Boot walk all 32:
each answers with the magic value, its version and QEMU's vendor ID, and DeviceID 0, which the
specification reserves for "no device", so no driver claims it. That is all this model is.

Interface
    MMIO      TRANSPORTS * TRANSPORT_SIZE = 16 KiB (SIZE 0x4000), one 0x200-byte window per
              transport; word accesses (virtio-mmio registers are 32 bits, 4.2.2).
    IRQ out   none. QEMU wires transport n to SPI 16 + n (INTIDs 48-79); with no backend
              the line never asserts, so the board leaves them unwired (emu/board/virt.toml).
    Options   ``version``: what Version reads, 1 (legacy) by default as QEMU 7.2's
              ``force-legacy=on`` default, or 2.
    Not modelled
              any device: queues, features, configuration space and interrupts. Every
              register but MagicValue, Version and VendorID reads 0 and every write is
              ignored, as QEMU does without a backend. The configuration space (0x100-0x1FF)
              is not declared: accesses there are guest errors and read 0 (QEMU reads 0
              silently). QEMU also answers narrower accesses; here they are guest errors.
"""

from __future__ import annotations

from .base import MmioDevice
from .log import LogSink
from .regs import RO, RW, WO, Reg, RegisterMap

TRANSPORTS = 32
TRANSPORT_SIZE = 0x200

MAGIC_VALUE = 0x7472_6976    # "virt", little-endian (4.2.2)
VENDOR_QEMU = 0x554D_4551    # "QEMU", QEMU's VIRT_VENDOR
DEVICE_ID_NONE = 0           # 5 "Device Types": 0 is reserved, meaning no device


def _bank(name: str, offset: int, access=RO, reset: int = 0) -> Reg:
    """One register of every transport: an array with the transports' stride. Writable
    registers have an empty write mask: with no device behind them, writes change nothing."""
    return Reg(name, offset, access=access, reset=reset, mask=0, count=TRANSPORTS,
               stride=TRANSPORT_SIZE)


class VirtioMmioBank(MmioDevice):
    """32 virtio-mmio transports without devices. See the module docstring."""

    SIZE = TRANSPORTS * TRANSPORT_SIZE

    REGS = RegisterMap(
        _bank("MagicValue", 0x000, reset=MAGIC_VALUE),
        Reg("Version", 0x004, access=RO, count=TRANSPORTS, stride=TRANSPORT_SIZE,
            on_read="_read_version"),
        _bank("DeviceID", 0x008, reset=DEVICE_ID_NONE),
        _bank("VendorID", 0x00C, reset=VENDOR_QEMU),
        _bank("DeviceFeatures", 0x010),
        _bank("DeviceFeaturesSel", 0x014, access=WO),
        _bank("DriverFeatures", 0x020, access=WO),
        _bank("DriverFeaturesSel", 0x024, access=WO),
        _bank("GuestPageSize", 0x028, access=WO),   # legacy interface only
        _bank("QueueSel", 0x030, access=WO),
        _bank("QueueNumMax", 0x034),
        _bank("QueueNum", 0x038, access=WO),
        _bank("QueueAlign", 0x03C, access=WO),      # legacy interface only
        _bank("QueuePFN", 0x040, access=RW),        # legacy interface only
        _bank("QueueReady", 0x044, access=RW),
        _bank("QueueNotify", 0x050, access=WO),
        _bank("InterruptStatus", 0x060),
        _bank("InterruptACK", 0x064, access=WO),
        _bank("Status", 0x070, access=RW),
        _bank("QueueDescLow", 0x080, access=WO),
        _bank("QueueDescHigh", 0x084, access=WO),
        _bank("QueueDriverLow", 0x090, access=WO),
        _bank("QueueDriverHigh", 0x094, access=WO),
        _bank("QueueDeviceLow", 0x0A0, access=WO),
        _bank("QueueDeviceHigh", 0x0A4, access=WO),
        _bank("SHMSel", 0x0AC, access=WO),
        _bank("SHMLenLow", 0x0B0),
        _bank("SHMLenHigh", 0x0B4),
        _bank("SHMBaseLow", 0x0B8),
        _bank("SHMBaseHigh", 0x0BC),
        _bank("QueueReset", 0x0C0, access=RW),
        _bank("ConfigGeneration", 0x0FC),
    )

    def __init__(self, version: int = 1, log: LogSink | None = None, name: str = "virtio_mmio"):
        if version not in (1, 2):
            raise ValueError(f"virtio-mmio version {version} is not 1 (legacy) or 2")
        super().__init__(log=log, name=name)
        self.version = version

    def _read_version(self, index: int) -> int:
        return self.version
