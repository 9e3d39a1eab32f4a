"""GICv2m MSI frame: message-signalled interrupts for a GICv2, per the Arm Server Base System
Architecture (Arm DEN 0029, appendix "GICv2m architecture"), with the behaviour of QEMU's
hw/intc/arm_gicv2m.c, the frame QEMU's virt board puts at 0x0802_0000 and Linux's
irq-gic-v2m driver finds there.

A device (or the CPU) writes an SPI number to MSI_SETSPI_NS; the frame pulses that SPI into
the distributor. MSI_TYPER tells software which contiguous SPIs the frame owns.

Interface
    MMIO      4 KiB (SIZE 0x1000); word accesses, and halfword writes to MSI_SETSPI_NS (as
              QEMU: a PCIe device may send a 16-bit MSI payload).
    IRQ out   ``spis``: one line per SPI of the frame, ``spis[n]`` for INTID ``base_spi + n``;
              MSI_SETSPI_NS pulses it (raise, then lower), which the distributor latches when
              the SPI is configured edge-triggered (GICD_ICFGR), as Linux configures MSIs.
    Options   ``base_spi``, the first INTID (QEMU virt: 80, its SPI 48), and the number of
              SPIs, ``len(spis)`` (QEMU virt: 64).
    Not modelled
              MSI_SETSPI_S and the other Secure registers (no Security Extensions on the
              board), the optional identification registers (MSI_PIDR0-4, MSI_CIDR0-3 read 0,
              MSI_PIDR2 included, as QEMU; the SBSA allows 0 there).

Simplification: QEMU's distributor also latches a pulse on a level-sensitive SPI that is
enabled; ours latches only edge-triggered ones (emu/devices/gicv2.py), which is what the
architecture's level semantics imply and what Linux uses.
"""

from __future__ import annotations

from typing import Sequence

from .base import MmioDevice
from .irq import IrqLine
from .log import LogSink
from .regs import RO, WO, Field, Reg, RegisterMap

#: QEMU virt's frame: its SPIs 48-111, i.e. INTIDs 80-143 (hw/arm/virt.c, NUM_GICV2M_SPIS).
VIRT_BASE_SPI = 80
VIRT_NUM_SPIS = 64

PRODUCT_ID_QEMU = 0x51  # MSI_IIDR.ProductID: ASCII 'Q', as QEMU reports it

MSI_TYPER_BASE = Field("BASE", 16, 10)
MSI_TYPER_NUMBER = Field("NUMBER", 0, 10)
MSI_SETSPI_SPI = Field("SPI", 0, 10)
MSI_IIDR_PRODUCT = Field("ProductID", 20, 12)


class Gicv2m(MmioDevice):
    """GICv2m MSI frame. See the module docstring for the interface."""

    SIZE = 0x1000

    REGS = RegisterMap(
        Reg("MSI_TYPER", 0x008, access=RO, on_read="_read_typer",
            fields=(MSI_TYPER_BASE, MSI_TYPER_NUMBER)),
        Reg("MSI_SETSPI_NS", 0x040, access=WO, sizes=(2, 4), mask=MSI_SETSPI_SPI.mask,
            on_write="_write_setspi", fields=(MSI_SETSPI_SPI,)),
        Reg("MSI_IIDR", 0xFCC, access=RO, reset=MSI_IIDR_PRODUCT.put(0, PRODUCT_ID_QEMU),
            fields=(MSI_IIDR_PRODUCT, Field("ArchVersion", 16, 4), Field("Revision", 12, 4),
                    Field("Implementer", 0, 12))),
        # MSI_PIDR4-7 (here UPPER0-3), MSI_PIDR0-3, MSI_CIDR0-3: optional; read 0 (as QEMU).
        Reg("MSI_PIDR_UPPER", 0xFD0, access=RO, count=4),
        Reg("MSI_PIDR", 0xFE0, access=RO, count=4),
        Reg("MSI_CIDR", 0xFF0, access=RO, count=4),
    )

    def __init__(self, spis: Sequence[IrqLine], base_spi: int = VIRT_BASE_SPI,
                 log: LogSink | None = None, name: str = "gicv2m"):
        super().__init__(log=log, name=name)
        if not 32 <= base_spi or base_spi + len(spis) > 1020 or not 0 < len(spis) <= 1023:
            raise ValueError(f"GICv2m SPIs {base_spi}..{base_spi + len(spis) - 1} are not SPIs")
        self.spis = list(spis)
        self.base_spi = base_spi

    def _read_typer(self) -> int:
        return MSI_TYPER_BASE.put(MSI_TYPER_NUMBER.put(0, len(self.spis)), self.base_spi)

    def _write_setspi(self, value: int) -> None:
        intid = MSI_SETSPI_SPI.get(value)
        n = intid - self.base_spi
        if 0 <= n < len(self.spis):
            self.spis[n].pulse()
        else:
            self.guest_error(f"MSI_SETSPI_NS names INTID {intid}, not one of the frame's "
                             f"{self.base_spi}..{self.base_spi + len(self.spis) - 1}; ignored")
