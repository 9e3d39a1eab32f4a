"""GICv2m MSI frame (emu/devices/gicv2m.py) against the SBSA's GICv2m appendix and QEMU's
hw/intc/arm_gicv2m.c."""

import pytest

from emu.devices.gicv2m import VIRT_BASE_SPI, VIRT_NUM_SPIS, Gicv2m
from emu.devices.irq import IrqLine
from emu.devices.log import RecordingLog

MSI_TYPER, MSI_SETSPI_NS, MSI_IIDR = 0x008, 0x040, 0xFCC


class Frame:
    def __init__(self):
        self.edges = {}  # INTID -> levels seen
        self.spis = [IrqLine(lambda level, i=VIRT_BASE_SPI + n: self.edges.setdefault(i, []).append(level))
                     for n in range(VIRT_NUM_SPIS)]
        self.log = RecordingLog()
        self.dev = Gicv2m(self.spis, VIRT_BASE_SPI, log=self.log)


@pytest.fixture
def f():
    return Frame()


def test_typer_names_qemu_virts_spis(f):
    assert f.dev.read(MSI_TYPER, 4) == (80 << 16) | 64


def test_iidr_is_qemus_product_id(f):
    assert f.dev.read(MSI_IIDR, 4) == 0x51 << 20


def test_identification_registers_read_zero(f):
    assert [f.dev.read(off, 4) for off in range(0xFD0, 0x1000, 4)] == [0] * 12
    assert not f.log.entries


def test_setspi_pulses_the_named_spi(f):
    f.dev.write(MSI_SETSPI_NS, 4, 100)
    assert f.edges == {100: [True, False]}


def test_setspi_halfword_write(f):
    f.dev.write(MSI_SETSPI_NS, 2, 143)
    assert f.edges == {143: [True, False]}


def test_setspi_uses_only_the_low_ten_bits(f):
    f.dev.write(MSI_SETSPI_NS, 4, 0xFFFF_F000 | 80)
    assert f.edges == {80: [True, False]}


@pytest.mark.parametrize("intid", [79, 144, 33])
def test_setspi_outside_the_frame_is_ignored(f, intid):
    f.dev.write(MSI_SETSPI_NS, 4, intid)
    assert f.edges == {} and f.log.guest_errors


def test_setspi_is_write_only(f):
    assert f.dev.read(MSI_SETSPI_NS, 4) == 0 and f.log.guest_errors


def test_typer_is_read_only(f):
    f.dev.write(MSI_TYPER, 4, 0)
    assert f.dev.read(MSI_TYPER, 4) == 0x00500040 and f.log.guest_errors


def test_byte_read_is_a_guest_error(f):
    assert f.dev.read(MSI_TYPER, 1) == 0 and f.log.guest_errors


def test_frame_outside_the_spi_range_is_refused():
    with pytest.raises(ValueError):
        Gicv2m([IrqLine()] * 8, base_spi=1016)
