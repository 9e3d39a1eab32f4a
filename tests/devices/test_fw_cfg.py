"""fw_cfg, MMIO variant (emu/devices/fw_cfg.py) against QEMU 7.2's hw/nvram/fw_cfg.c and
docs/specs/fw_cfg.rst, with a bytearray for the DMA port."""

import struct

import pytest

from emu.devices.fw_cfg import (DMA_CTL_ERROR, DMA_CTL_READ, DMA_CTL_SELECT, DMA_CTL_SKIP,
                                DMA_CTL_WRITE, FwCfgMmio, virt_files, virt_items)
from emu.devices.log import RecordingLog
from emu.mem.dma import DmaFault

DATA, SEL, DMA = 0x00, 0x08, 0x10
RAM = 0x4000_0000


class Ram:
    """A bytearray DMA port at RAM; anything else is not memory."""

    def __init__(self):
        self.mem = bytearray(0x10000)

    def _at(self, addr, size):
        if not (RAM <= addr and addr + size <= RAM + len(self.mem)):
            raise DmaFault(addr, size, False, "not memory")
        return addr - RAM

    def read(self, addr, size):
        o = self._at(addr, size)
        return bytes(self.mem[o:o + size])

    def write(self, addr, data):
        o = self._at(addr, len(data))
        self.mem[o:o + len(data)] = data


class FwCfg:
    def __init__(self):
        self.ram = Ram()
        self.log = RecordingLog()
        self.dev = FwCfgMmio(self.ram, virt_items(1), virt_files(), log=self.log)

    def select(self, key):
        self.dev.write(SEL, 2, int.from_bytes(key.to_bytes(2, "big"), "little"))

    def data(self, size=4):
        return self.dev.read(DATA, size)

    def dma(self, control, length, address, at=RAM, halves=False):
        self.ram.write(at, struct.pack(">IIQ", control, length, address))
        le = int.from_bytes(at.to_bytes(8, "big"), "little")   # the guest's store of a BE address
        if halves:
            self.dev.write(DMA, 4, le & 0xFFFF_FFFF)
            self.dev.write(DMA + 4, 4, le >> 32)
        else:
            self.dev.write(DMA, 8, le)
        return struct.unpack(">I", self.ram.read(at, 4))[0]


@pytest.fixture
def f():
    return FwCfg()


def test_signature_streams_in_order_then_zeros(f):
    f.select(0)
    assert f.data(1) == ord("Q") and f.data(2) == 0x4D45 and f.data(4) == ord("U")
    f.select(0)
    assert f.data(8) == int.from_bytes(b"QEMU", "little")


def test_id_has_the_dma_interface(f):
    f.select(1)
    assert f.data() == 3


def test_dma_register_reads_qemu_cfg(f):
    assert f.dev.read(DMA, 8).to_bytes(8, "little") == b"QEMU CFG"


def test_unknown_item_reads_zeros(f):
    f.select(0x7FFF)
    assert f.data(8) == 0


def test_virt_items(f):
    f.select(5)
    assert f.data(2) == 1
    f.select(2)
    assert f.data(8) == 0 and f.data(8) == 0


def test_file_directory_is_sorted_with_selects_from_0x20(f):
    f.select(0x19)
    raw = b"".join(f.data(8).to_bytes(8, "little") for _ in range(1 + 3 * 8))
    (count,) = struct.unpack(">I", raw[:4])
    entries = [struct.unpack(">IHH56s", raw[4 + 64 * i:68 + 64 * i]) for i in range(count)]
    assert [(e[0], e[1], e[3].rstrip(b"\0")) for e in entries] == [
        (0, 0x20, b"bios-geometry"), (0, 0x21, b"bootorder"), (4, 0x22, b"etc/boot-fail-wait")]
    f.select(0x22)
    assert f.data() == 0xFFFF_FFFF


def test_dma_select_and_read(f):
    assert f.dma(DMA_CTL_SELECT | DMA_CTL_READ | (1 << 16), 4, RAM + 0x100) == 0
    assert f.ram.read(RAM + 0x100, 4) == struct.pack("<I", 3)


def test_dma_skip_then_read_past_the_end_zero_fills(f):
    f.ram.write(RAM + 0x100, b"\xaa" * 8)
    f.select(0)
    assert f.dma(DMA_CTL_SKIP, 2, 0) == 0
    assert f.dma(DMA_CTL_READ, 8, RAM + 0x100) == 0
    assert f.ram.read(RAM + 0x100, 8) == b"MU" + bytes(6)


def test_dma_in_two_halves_starts_on_the_low_half(f):
    assert f.dma(DMA_CTL_SELECT | DMA_CTL_READ, 4, RAM + 0x100, halves=True) == 0
    assert f.ram.read(RAM + 0x100, 4) == b"QEMU"


def test_dma_zero_fill_of_a_huge_length_is_written_in_bounded_pieces(f):
    # A guest-chosen length of almost 4 GiB past the item's end: the port sees pieces of at
    # most 64 KiB, and the transfer ends with the error bit where memory ends.
    sizes = []
    write = f.ram.write
    f.ram.write = lambda addr, data: (sizes.append(len(data)), write(addr, data))
    f.select(0)
    assert f.dma(DMA_CTL_SKIP, 4, 0) == 0
    assert f.dma(DMA_CTL_READ, 0xFFFF_FFF0, RAM + 0x1000) == DMA_CTL_ERROR
    assert sizes and max(sizes) <= 64 << 10


def test_dma_write_is_refused_with_the_error_bit(f):
    assert f.dma(DMA_CTL_SELECT | DMA_CTL_WRITE, 4, RAM + 0x100) == DMA_CTL_ERROR


def test_dma_to_a_hole_sets_the_error_bit(f):
    assert f.dma(DMA_CTL_SELECT | DMA_CTL_READ, 4, 0x1000) == DMA_CTL_ERROR


def test_dma_structure_outside_memory_is_a_guest_error(f):
    f.dev.write(DMA, 8, int.from_bytes((0x1000).to_bytes(8, "big"), "little"))
    assert any("not memory" in m for m in f.log.guest_errors)


def test_no_operation_bit_transfers_nothing(f):
    f.select(0)
    assert f.dma(0, 4, RAM + 0x100) == 0
    assert f.data() == int.from_bytes(b"QEMU", "little")


def test_data_writes_are_ignored(f):
    f.select(0)
    f.dev.write(DATA, 4, 0x1234)
    assert f.data() == int.from_bytes(b"QEMU", "little")


def test_state_round_trip(f):
    f.select(0)
    f.data(2)
    g = FwCfg()
    g.dev.from_state(f.dev.state())
    assert g.data(2) == int.from_bytes(b"MU", "little")
