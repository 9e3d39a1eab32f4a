"""The register framework (emu/devices/regs.py, base.py) on a toy device."""

import json

import pytest

from emu.devices.base import MmioDevice
from emu.devices.log import GUEST_ERROR, UNIMP, RecordingLog
from emu.devices.regs import (RC, RO, RW, W1C, W1S, WO, Access, Field, Reg, RegisterMap,
                              flags)


def _record_last(dev, value):
    dev.last = value


class Toy(MmioDevice):
    SIZE = 0x100
    REGS = RegisterMap(
        Reg("CTRL", 0x00, reset=0x5, mask=0xFF, on_change="_changed",
            fields=(Field("EN", 0), Field("MODE", 1, 3))),
        Reg("STATUS", 0x04, access=RO, reset=0xA5),
        Reg("PEND", 0x08, access=W1C, reset=0xF0),
        Reg("SETPEND", 0x0C, access=W1S, target="PEND"),
        Reg("EVT", 0x10, access=RC, reset=0x3, on_change="_changed"),
        Reg("CMD", 0x14, access=WO),
        Reg("ENABLE", 0x20, count=4, access=W1S),
        Reg("DISABLE", 0x30, count=4, access=W1C, target="ENABLE"),
        Reg("PRIO", 0x40, count=8, sizes=(1, 4), reset=range(8)),
        Reg("FIFO", 0x60, on_read="_pop", on_write="_push"),
        Reg("LAST", 0x64, on_write=_record_last),
        Reg("BANK", 0x70, count=2, on_read="_bank_read", on_write="_bank_write"),
        Reg("WIDE", 0x80, width=64, sizes=(4, 8)),
        Reg("LEGACY", 0x90, unimplemented=True),
        Reg("GAPPED", 0xA0, count=2, stride=8),
        Reg("ICLR", 0xB0, access=Access.CLEAR, target="STATUS"),
    )

    def __init__(self, log):
        super().__init__(log=log, name="toy")
        self.changes = 0
        self.fifo = [0x11, 0x22]
        self.pushed = []
        self.bank_calls = []
        self.last = None

    def _changed(self):
        self.changes += 1

    def _pop(self):
        return self.fifo.pop(0) if self.fifo else 0

    def _push(self, value):
        self.pushed.append(value)

    def _bank_read(self, index):
        self.bank_calls.append(("r", index))
        return 0x100 + index

    def _bank_write(self, index, value):
        self.bank_calls.append(("w", index, value))


@pytest.fixture
def log():
    return RecordingLog()


@pytest.fixture
def dev(log):
    return Toy(log)


def test_reset_values(dev):
    assert dev.read(0x00, 4) == 0x5
    assert dev.read(0x04, 4) == 0xA5
    assert [dev.read(0x40 + 4 * i, 4) for i in range(8)] == list(range(8))
    assert dev.regs["PRIO"] == list(range(8))


def test_rw_write_keeps_bits_outside_mask(dev):
    dev.regs["CTRL"] = 0x100  # a reserved bit the model set itself
    dev.write(0x00, 4, 0xFFFF_FFFF)
    assert dev.regs["CTRL"] == 0x1FF


def test_ro_write_is_guest_error_and_ignored(dev, log):
    dev.write(0x04, 4, 0)
    assert dev.regs["STATUS"] == 0xA5
    assert log.guest_errors == ["write of 0x0 to read-only register STATUS"]


def test_w1c_clears_only_ones(dev):
    dev.write(0x08, 4, 0x30)
    assert dev.read(0x08, 4) == 0xC0


def test_w1s_target_sets_bits_of_target(dev):
    dev.write(0x0C, 4, 0x01)
    assert dev.regs["PEND"] == 0xF1
    assert dev.read(0x0C, 4) == 0xF1  # an alias reads its target


def test_rc_read_clears(dev):
    assert dev.read(0x10, 4) == 0x3
    assert dev.read(0x10, 4) == 0
    assert dev.changes == 1  # on_change only for the read that changed the value


def test_rc_write_is_guest_error(dev, log):
    dev.write(0x10, 4, 1)
    assert log.guest_errors and dev.regs["EVT"] == 0x3


def test_wo_read_is_guest_error_returns_zero(dev, log):
    dev.write(0x14, 4, 0x1234)
    assert dev.regs["CMD"] == 0x1234
    assert dev.read(0x14, 4) == 0
    assert log.guest_errors == ["read of write-only register CMD"]


def test_clear_only_register_is_write_only(dev, log):
    dev.write(0xB0, 4, 0x05)
    assert dev.regs["STATUS"] == 0xA0
    assert dev.read(0xB0, 4) == 0 and len(log.guest_errors) == 1


def test_array_decode_and_alias(dev):
    dev.write(0x28, 4, 0x0F)  # ENABLE2
    assert dev.regs["ENABLE", 2] == 0x0F
    assert dev.regs["ENABLE"] == [0, 0, 0x0F, 0]
    dev.write(0x38, 4, 0x03)  # DISABLE2
    assert dev.read(0x28, 4) == 0x0C
    assert dev.read(0x38, 4) == 0x0C


def test_array_handlers_get_index(dev):
    assert dev.read(0x74, 4) == 0x101
    dev.write(0x70, 4, 7)
    assert dev.bank_calls == [("r", 1), ("w", 0, 7)]


def test_string_handlers_replace_storage(dev):
    assert dev.read(0x60, 4) == 0x11
    dev.write(0x60, 4, 0x99)
    assert dev.pushed == [0x99] and dev.regs["FIFO"] == 0


def test_callable_handler_is_called_like_a_method(dev):
    dev.write(0x64, 4, 42)
    assert dev.last == 42


def test_byte_access_merges_into_register(dev):
    dev.write(0x42, 1, 0xAB)  # byte 2 of PRIO0
    assert dev.regs["PRIO", 0] == 0x00AB_0000
    dev.write(0x44, 4, 0x0302_0100)
    assert dev.regs["PRIO", 1] == 0x0302_0100
    dev.write(0x45, 1, 0xEE)
    assert dev.read(0x44, 4) == 0x0302_EE00
    assert dev.read(0x46, 1) == 0x02


def test_size_not_allowed_is_guest_error(dev, log):
    assert dev.read(0x42, 2) == 0  # PRIO allows bytes and words, not halfwords
    dev.write(0x00, 1, 0xFF)  # CTRL takes words only (the default)
    assert dev.regs["CTRL"] == 0x5
    assert len(log.guest_errors) == 2


def test_misaligned_access_is_guest_error(dev, log):
    dev.write(0x41, 4, 0xFFFF_FFFF)
    assert dev.regs["PRIO"] == list(range(8))
    assert "PRIO0+1" in log.guest_errors[0]


def test_wide_register_halves_and_whole(dev):
    dev.write(0x80, 4, 0x1111_1111)
    dev.write(0x84, 4, 0x2222_2222)
    assert dev.read(0x80, 8) == 0x2222_2222_1111_1111
    dev.write(0x80, 8, 0xAAAA_BBBB_CCCC_DDDD)
    assert dev.read(0x84, 4) == 0xAAAA_BBBB


def test_unknown_offset_reads_zero_and_logs(dev, log):
    assert dev.read(0xFC, 4) == 0
    dev.write(0xFC, 4, 1)
    assert [e.kind for e in log.entries] == [GUEST_ERROR, GUEST_ERROR]
    assert "unknown offset 0xfc" in log.entries[0].message


def test_stride_gap_is_unknown(dev, log):
    dev.write(0xA8, 4, 9)
    assert dev.regs["GAPPED", 1] == 9
    assert dev.read(0xA4, 4) == 0 and len(log.guest_errors) == 1


def test_unimplemented_register_logged_once(dev, log):
    dev.write(0x90, 4, 5)
    assert dev.read(0x90, 4) == 5
    assert [e.kind for e in log.entries] == [UNIMP]


def test_on_change_only_when_value_changes(dev):
    dev.write(0x00, 4, 0x5)
    assert dev.changes == 0
    dev.write(0x00, 4, 0x7)
    assert dev.changes == 1


def test_trace_hook_sees_every_access(dev):
    seen = []
    dev.trace = lambda *a: seen.append(a)
    dev.write(0x24, 4, 1)
    dev.read(0x24, 4)
    dev.read(0xFC, 4)
    assert seen == [("toy", "write", 0x24, 4, 1, "ENABLE1"),
                    ("toy", "read", 0x24, 4, 1, "ENABLE1"),
                    ("toy", "read", 0xFC, 4, 0, None)]


def test_state_round_trip_is_json(dev, log):
    dev.write(0x00, 4, 0x3)
    dev.write(0x2C, 4, 0x80)
    dev.write(0x80, 8, 1 << 63)
    state = json.loads(json.dumps(dev.state()))
    other = Toy(log)
    other.from_state(state)
    assert other.state() == dev.state()
    assert other.read(0x2C, 4) == 0x80


def test_reset_restores_declared_values(dev):
    dev.write(0x00, 4, 0xFF)
    dev.write(0x20, 4, 1)
    dev.reset()
    assert dev.regs["CTRL"] == 0x5 and dev.regs["ENABLE"] == [0, 0, 0, 0]


def test_fields():
    reg = Toy.REGS["CTRL"]
    assert reg.field("MODE").get(0b1010) == 0b101
    assert reg.field("MODE").put(0xFF, 0) == 0xF1
    assert reg.describe(0b1011) == "EN=1 MODE=0x5"
    assert [f.lsb for f in flags("A", None, "C")] == [0, 2]


def test_register_file_fields(dev):
    dev.regs.set_field("CTRL", "MODE", 3)
    assert dev.regs["CTRL"] == 0x7 and dev.regs.get_field("CTRL", "MODE") == 3


def test_access_modes_are_flags():
    assert RW == Access.READ | Access.WRITE and RO == Access.READ and WO == Access.WRITE
    assert W1C.writable and W1S.writable and not RO.writable and not RC.writable


def test_map_rejects_overlap_duplicates_and_bad_target():
    with pytest.raises(ValueError, match="overlap"):
        RegisterMap(Reg("A", 0x0, width=64), Reg("B", 0x4))
    with pytest.raises(ValueError, match="twice"):
        RegisterMap(Reg("A", 0x0), Reg("A", 0x4))
    with pytest.raises(ValueError, match="target"):
        RegisterMap(Reg("A", 0x0, count=2), Reg("B", 0x8, target="A"))
    with pytest.raises(ValueError, match="reset"):
        Reg("A", 0x0, count=2, reset=(1, 2, 3))


def test_missing_handler_fails_at_construction():
    class Broken(MmioDevice):
        REGS = RegisterMap(Reg("A", 0x0, on_read="_nope"))

    with pytest.raises(AttributeError):
        Broken()
