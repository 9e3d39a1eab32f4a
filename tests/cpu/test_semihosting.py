"""Arm semihosting: who may call it, and that every pointer and length a caller passes is bounded
by what the caller itself can read."""

from __future__ import annotations

import pytest

from emu.cpu.semihosting import (
    ADP_Stopped_ApplicationExit,
    MAX_TRANSFER,
    SYS_EXIT,
    SYS_WRITE,
    SYS_WRITE0,
    SYS_WRITEC,
    SemihostExit,
    Semihosting,
    SemihostingConfig,
)

MINUS_ONE = (1 << 64) - 1
BASE = 0x1000


class CallerMemory:
    """What one caller can read: [BASE, BASE + len(data)); anything else is unmapped."""

    def __init__(self, data: bytes):
        self.data = bytearray(data)
        self.largest_read = 0

    def read(self, addr: int, size: int) -> bytes:
        self.largest_read = max(self.largest_read, size)
        if not BASE <= addr < BASE + len(self.data):
            return b""
        return bytes(self.data[addr - BASE:addr - BASE + size])


def semihost(data: bytes):
    mem = CallerMemory(data)
    out = bytearray()
    return Semihosting(mem.read, out.extend), mem, out


def words(*values: int) -> bytes:
    return b"".join(v.to_bytes(8, "little") for v in values)


def test_boot_el_only_unless_lower_els_are_allowed():
    default = SemihostingConfig()
    assert default.allows(2, start_el=2) and not default.allows(1, start_el=2) and not default.allows(0, start_el=2)
    assert default.allows(1, start_el=1) and not default.allows(0, start_el=1)
    assert SemihostingConfig(lower_els=True).allows(1, start_el=2)
    assert not SemihostingConfig(enabled=False).allows(2, start_el=2)


def test_write_of_a_huge_length_moves_at_most_one_transfer_and_reports_the_rest():
    sh, mem, out = semihost(words(1, BASE + 24, 1 << 62) + b"A" * (2 * MAX_TRANSFER))
    left = sh.call(SYS_WRITE, BASE)
    assert len(out) == MAX_TRANSFER and set(out) == {ord("A")}
    assert left == (1 << 62) - MAX_TRANSFER
    assert mem.largest_read <= MAX_TRANSFER


def test_write_stops_where_the_callers_memory_ends():
    sh, _, out = semihost(words(1, BASE + 24, 100) + b"xyz")
    assert sh.call(SYS_WRITE, BASE) == 97
    assert bytes(out) == b"xyz"


def test_write_to_a_file_handle_writes_nothing():
    sh, _, out = semihost(words(5, BASE + 24, 3) + b"xyz")
    assert sh.call(SYS_WRITE, BASE) == 3 and not out


@pytest.mark.parametrize("op", [SYS_WRITEC, SYS_WRITE, SYS_EXIT])
def test_unmapped_parameter_fails_the_call_instead_of_ending_the_run(op):
    sh, _, out = semihost(b"hello\0")
    assert sh.call(op, 0x7000_0000) == MINUS_ONE and not out


def test_write0_through_an_unmapped_pointer_writes_nothing():
    sh, _, out = semihost(b"")
    assert sh.call(SYS_WRITE0, 0x7000_0000) == 0 and not out


def test_write0_without_a_terminator_is_bounded():
    sh, _, out = semihost(b"B" * (3 * MAX_TRANSFER))
    sh.call(SYS_WRITE0, BASE)
    assert len(out) == MAX_TRANSFER


def test_write0_stops_at_nul():
    sh, _, out = semihost(b"line\n\0junk")
    sh.call(SYS_WRITE0, BASE)
    assert bytes(out) == b"line\n"


def test_exit_takes_the_subcode_of_an_application_exit():
    sh, _, _ = semihost(words(ADP_Stopped_ApplicationExit, 0x12A))
    res = sh.call(SYS_EXIT, BASE)
    assert isinstance(res, SemihostExit) and res.code == 0x2A
    sh, _, _ = semihost(words(0x20023, 0))    # another reason: QEMU exits with 1
    assert sh.call(SYS_EXIT, BASE).code == 1


def test_unknown_operation_is_refused():
    sh, _, _ = semihost(b"")
    assert sh.call(0x01, BASE) == MINUS_ONE
