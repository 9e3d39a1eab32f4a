"""CFI flash bank (emu/devices/pflash_cfi01.py) against QEMU 7.2's hw/block/pflash_cfi01.c as
virt configures it: 64 MiB, 256 KiB sectors, 32 bits wide of two x16 devices."""

import pytest

from emu.devices.log import RecordingLog
from emu.devices.pflash_cfi01 import PflashCfi01

BANK = 64 << 20
SECTOR = 256 << 10


class Bank:
    def __init__(self):
        self.storage = bytearray(BANK)
        self.modes = []
        self.log = RecordingLog()
        self.dev = PflashCfi01(self.storage, on_romd=self.modes.append, log=self.log)

    def rd(self, off, size=4):
        return self.dev.read(off, size)

    def wr(self, off, value, size=4):
        self.dev.write(off, size, value)


@pytest.fixture
def f():
    return Bank()


def test_reset_is_read_array_in_romd_mode(f):
    f.storage[0x100:0x104] = b"\x11\x22\x33\x44"
    assert f.dev.romd
    assert f.rd(0x100) == 0x44332211 and f.rd(0x100, 8) == 0x44332211
    assert f.rd(0x101, 1) == 0x22


def test_cfi_query_answers_qry_in_both_devices_and_read_array_returns(f):
    f.wr(0x55 * 4, 0x98)
    assert not f.dev.romd and f.modes[-1] is False
    assert [f.rd(0x10 * 4 + 4 * i) for i in range(3)] == [0x00510051, 0x00520052, 0x00590059]
    assert f.rd(0x13 * 4) == 0x00010001          # Intel command set
    assert f.rd(0x27 * 4) & 0xFF == 25           # each x16 device is 32 MiB
    assert [f.rd(o * 4) & 0xFF for o in (0x2C, 0x2D, 0x2E, 0x2F, 0x30)] == [1, 0xFF, 0, 0, 2]
    assert f.rd(0x2A * 4) & 0xFF == 0x0B
    assert f.rd(0x1000 * 4) == 0                 # past the table
    assert f.rd(0x10 * 4, 8) == 0x0052005200510051
    f.wr(0, 0xFF)
    assert f.dev.romd and f.modes[-1] is True and f.rd(0x40) == 0


def test_query_mode_stays_on_other_writes(f):
    f.wr(0, 0x98)
    f.wr(0, 0x12)
    assert f.rd(0x40) == 0x00510051


def test_read_identifier(f):
    f.wr(0, 0x90)
    assert f.rd(0) == 0x00890089 and f.rd(4) == 0x00180018 and f.rd(8) == 0


def test_word_program_then_status_then_read_array(f):
    f.wr(0x1000, 0x40)
    f.wr(0x1000, 0xCAFEF00D)
    assert f.storage[0x1000:0x1004] == bytes.fromhex("0df0feca")
    assert f.rd(0) == 0x00800080 and f.rd(0, 2) == 0x80 and f.rd(0, 1) == 0x80
    f.wr(0, 0x50)                                # clear status: back to read array
    assert f.dev.romd and f.dev.status == 0 and f.rd(0x1000) == 0xCAFEF00D


def test_block_erase_fills_the_sector_with_ones(f):
    f.storage[SECTOR:2 * SECTOR + 4] = b"\x5a" * (SECTOR + 4)
    f.wr(SECTOR + 0x100, 0x20)
    f.wr(SECTOR + 0x100, 0xD0)
    assert f.rd(0) == 0x00800080
    f.wr(0, 0xFF)
    assert f.storage[SECTOR:2 * SECTOR] == b"\xff" * SECTOR and f.storage[2 * SECTOR] == 0x5A


def test_read_status_command_shows_ready_from_reset(f):
    f.wr(0, 0x70)
    assert f.rd(0) == 0x00800080 and not f.dev.romd


def test_unknown_command_is_unimplemented_and_back_to_read_array(f):
    f.wr(0x1008, 0x1234)
    assert f.dev.romd and f.dev.cmd == 0
    assert any("flash command" in e.message for e in f.log.entries)


def test_write_of_zero_is_read_array_silently(f):
    f.wr(0, 0)
    assert f.dev.romd and not f.log.entries


def test_eight_byte_write_is_two_halves(f):
    f.wr(0, 0x0000_00FF_0000_0098, size=8)       # query, then read array at +4
    assert f.dev.romd


def test_state_round_trip(f):
    f.wr(0, 0x90)
    g = Bank()
    g.dev.from_state(f.dev.state())
    assert not g.dev.romd and g.rd(0) == 0x00890089
