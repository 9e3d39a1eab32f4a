"""PL031 RTC (emu/devices/pl031.py) against register-level behaviour of Arm DDI 0224 and
QEMU's hw/rtc/pl031.c."""

import json

import pytest

from emu.devices.irq import IrqLine
from emu.devices.log import RecordingLog
from emu.devices.pl031 import DETERMINISTIC_START, Pl031

DR, MR, LR, CR, IMSC, RIS, MIS, ICR = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C
HZ = 1000  # a counter of 1 kHz keeps the arithmetic readable


class ManualClock:
    def __init__(self):
        self.ticks = 0

    def now(self):
        return self.ticks

    def advance(self, seconds: float):
        self.ticks += int(seconds * HZ)


class Rtc:
    def __init__(self, start=DETERMINISTIC_START):
        self.levels = []
        self.irq = IrqLine(self.levels.append, "rtcintr")
        self.clock = ManualClock()
        self.log = RecordingLog()
        self.dev = Pl031(self.irq, self.clock, HZ, start=start, log=self.log)

    def rd(self, off, size=4):
        return self.dev.read(off, size)

    def wr(self, off, value, size=4):
        self.dev.write(off, size, value)


@pytest.fixture
def r():
    return Rtc()


def test_reset_values(r):
    expect = {DR: DETERMINISTIC_START, MR: 0, LR: 0, CR: 1, IMSC: 0, RIS: 0, MIS: 0}
    assert {off: r.rd(off) for off in expect} == expect
    assert not r.log.entries and not r.irq.level


def test_deterministic_start_is_2026_01_01_utc():
    import calendar

    assert DETERMINISTIC_START == calendar.timegm((2026, 1, 1, 0, 0, 0))


def test_periph_and_pcell_id(r):
    assert [r.rd(0xFE0 + 4 * i) for i in range(4)] == [0x31, 0x10, 0x14, 0x00]
    assert [r.rd(0xFF0 + 4 * i) for i in range(4)] == [0x0D, 0xF0, 0x05, 0xB1]


def test_dr_counts_whole_seconds_of_the_clock(r):
    r.clock.advance(0.999)
    assert r.rd(DR) == DETERMINISTIC_START
    r.clock.advance(0.001)
    assert r.rd(DR) == DETERMINISTIC_START + 1
    r.clock.advance(41.5)
    assert r.rd(DR) == DETERMINISTIC_START + 42


def test_lr_write_loads_the_counter_and_reads_back(r):
    r.clock.advance(3.25)
    r.wr(LR, 1000)
    assert r.rd(DR) == 1000 and r.rd(LR) == 1000
    r.clock.advance(1)
    assert r.rd(DR) == 1001


def test_dr_wraps_at_32_bits():
    t = Rtc(start=0xFFFF_FFFF)
    t.clock.advance(1)
    assert t.rd(DR) == 0


def test_cr_reads_one_and_ignores_writes(r):
    r.wr(CR, 0)
    assert r.rd(CR) == 1 and not r.log.entries


def test_dr_ris_mis_are_read_only(r):
    for off in (DR, RIS, MIS):
        r.wr(off, 0xFFFF_FFFF)
    assert r.rd(DR) == DETERMINISTIC_START and r.rd(RIS) == 0
    assert sum(1 for m in r.log.guest_errors if "read-only" in m) == 3


def test_icr_is_write_only(r):
    assert r.rd(ICR) == 0
    assert any("write-only" in m for m in r.log.guest_errors)


def test_imsc_stores_only_bit_0(r):
    r.wr(IMSC, 0xFFFF_FFFF)
    assert r.rd(IMSC) == 1


def test_mr_equal_to_dr_matches_at_once(r):
    r.wr(MR, r.rd(DR))
    assert r.rd(RIS) == 1 and r.rd(MIS) == 0 and not r.irq.level


def test_match_raises_at_the_matching_second_boundary(r):
    r.wr(IMSC, 1)
    r.clock.advance(0.4)
    r.wr(MR, DETERMINISTIC_START + 2)
    assert r.dev.next_deadline() == 2 * HZ
    r.clock.advance(1.5)  # 1.9 s: DR is START + 1
    r.dev.update()
    assert r.rd(RIS) == 0 and not r.irq.level
    r.clock.advance(0.1)  # 2.0 s: DR becomes MR
    r.dev.update()
    assert r.irq.level and r.rd(MIS) == 1 and r.dev.next_deadline() is None


def test_masked_match_latches_in_ris_without_a_deadline(r):
    r.wr(MR, DETERMINISTIC_START + 5)
    assert r.dev.next_deadline() is None
    r.clock.advance(5)
    assert r.rd(RIS) == 1 and not r.irq.level


def test_unmasking_a_latched_match_raises_rtcintr(r):
    r.wr(MR, DETERMINISTIC_START + 1)
    r.clock.advance(1)
    r.wr(IMSC, 1)
    assert r.irq.level and r.levels == [True]


def test_icr_write_one_clears_ris(r):
    r.wr(IMSC, 1)
    r.wr(MR, r.rd(DR))
    assert r.irq.level
    r.wr(ICR, 0)
    assert r.rd(RIS) == 1
    r.wr(ICR, 1)
    assert r.rd(RIS) == 0 and not r.irq.level and r.levels == [True, False]


def test_match_below_dr_waits_for_the_wrap(r):
    r.wr(MR, DETERMINISTIC_START - 1)
    assert r.rd(RIS) == 0
    assert r.dev.next_deadline() is None  # masked
    r.wr(IMSC, 1)
    assert r.dev.next_deadline() == ((1 << 32) - 1) * HZ


def test_lr_write_onto_mr_matches(r):
    r.wr(MR, 77)
    r.wr(LR, 77)
    assert r.rd(RIS) == 1


def test_narrow_access_is_a_guest_error(r):
    assert r.rd(DR, 1) == 0
    assert any("size 1" in m for m in r.log.guest_errors)


def test_state_round_trip_keeps_offset_and_alarm(r):
    r.wr(LR, 500)
    r.wr(IMSC, 1)
    r.wr(MR, 510)
    state = json.loads(json.dumps(r.dev.state()))
    t = Rtc()
    t.dev.from_state(state)
    assert t.rd(DR) == 500 and t.rd(MR) == 510 and t.dev.next_deadline() == 10 * HZ
    t.clock.advance(10)
    t.dev.update()
    assert t.irq.level


def test_reset_restores_start_and_clears_interrupts(r):
    r.wr(LR, 5)
    r.wr(IMSC, 1)
    r.wr(MR, 5)
    r.dev.reset()
    assert r.rd(DR) == DETERMINISTIC_START and r.rd(RIS) == 0 and not r.irq.level
