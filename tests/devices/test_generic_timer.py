"""Generic timer registers against a manual clock (Arm DDI 0487, D11)."""

from __future__ import annotations

import pytest

from emu.devices.generic_timer import TRAPPED, UNDEFINED, CTL_ENABLE, CTL_IMASK, CTL_ISTATUS, GenericTimer
from emu.devices.irq import IrqLine


class ManualClock:
    def __init__(self):
        self.t = 1000

    def now(self):
        return self.t


class Recorder:
    def __init__(self):
        self.levels = []

    def __call__(self, level):
        self.levels.append(level)


@pytest.fixture
def timer():
    clock = ManualClock()
    rec = {n: Recorder() for n in ("p", "v", "h")}
    t = GenericTimer(clock, 62_500_000, IrqLine(rec["p"]), IrqLine(rec["v"]), IrqLine(rec["h"]))
    t.test_clock, t.rec = clock, rec
    return t


def test_counters_and_frequency(timer):
    timer.write("CNTVOFF_EL2", 100)
    assert timer.read("CNTPCT_EL0") == 1000
    assert timer.read("CNTVCT_EL0") == 900
    assert timer.read("CNTFRQ_EL0") == 62_500_000


def test_tval_write_sets_cval_relative_to_now(timer):
    timer.write("CNTP_TVAL_EL0", 50)
    assert timer.read("CNTP_CVAL_EL0") == 1050
    timer.test_clock.t = 1030
    assert timer.read("CNTP_TVAL_EL0") == 20


def test_tval_is_signed_32_bit(timer):
    timer.write("CNTP_TVAL_EL0", 0xFFFFFFF0)  # -16
    assert timer.read("CNTP_CVAL_EL0") == 1000 - 16
    timer.test_clock.t = 1010
    assert timer.read("CNTP_TVAL_EL0") == (1000 - 16 - 1010) & 0xFFFFFFFF


def test_istatus_and_output_follow_the_counter(timer):
    timer.write("CNTV_CVAL_EL0", 1500)
    timer.write("CNTV_CTL_EL0", CTL_ENABLE)
    assert timer.read("CNTV_CTL_EL0") == CTL_ENABLE
    assert timer.rec["v"].levels == []
    timer.test_clock.t = 1500
    timer.update()
    assert timer.read("CNTV_CTL_EL0") == CTL_ENABLE | CTL_ISTATUS
    assert timer.rec["v"].levels == [True]


def test_imask_keeps_istatus_but_lowers_the_line(timer):
    timer.write("CNTHP_CVAL_EL2", 900)
    timer.write("CNTHP_CTL_EL2", CTL_ENABLE)
    assert timer.rec["h"].levels == [True]
    timer.write("CNTHP_CTL_EL2", CTL_ENABLE | CTL_IMASK)
    assert timer.read("CNTHP_CTL_EL2") == CTL_ENABLE | CTL_IMASK | CTL_ISTATUS
    assert timer.rec["h"].levels == [True, False]


def test_disabled_timer_has_no_istatus(timer):
    timer.write("CNTP_CVAL_EL0", 0)
    assert timer.read("CNTP_CTL_EL0") & CTL_ISTATUS == 0
    assert timer.rec["p"].levels == []


def test_istatus_is_read_only(timer):
    timer.write("CNTP_CTL_EL0", CTL_ISTATUS)
    assert timer.read("CNTP_CTL_EL0") == 0


def test_virtual_timer_compares_against_the_virtual_counter(timer):
    timer.write("CNTVOFF_EL2", 500)          # virtual count = 500
    timer.write("CNTV_CVAL_EL0", 600)
    timer.write("CNTV_CTL_EL0", CTL_ENABLE)
    assert timer.next_deadline() == 1100     # in physical counter terms
    timer.test_clock.t = 1100
    timer.update()
    assert timer.rec["v"].levels == [True]


def test_next_deadline_is_the_earliest_armed_unmasked_timer(timer):
    timer.write("CNTP_CVAL_EL0", 3000)
    timer.write("CNTP_CTL_EL0", CTL_ENABLE)
    timer.write("CNTHP_CVAL_EL2", 2000)
    timer.write("CNTHP_CTL_EL2", CTL_ENABLE | CTL_IMASK)
    assert timer.next_deadline() == 3000
    timer.write("CNTHP_CTL_EL2", CTL_ENABLE)
    assert timer.next_deadline() == 2000


def test_state_round_trip(timer):
    timer.write("CNTV_CVAL_EL0", 1234)
    timer.write("CNTV_CTL_EL0", CTL_ENABLE | CTL_IMASK)
    timer.write("CNTVOFF_EL2", 7)
    other = GenericTimer(timer.test_clock, 62_500_000, IrqLine(), IrqLine(), IrqLine())
    other.from_state(timer.state())
    assert other.state() == timer.state()


def target(timer, name, el, read=True, tge=False, highest_el=2):
    a = timer.access(name, el, read, tge, highest_el)
    return None if a is None else (a.ec, a.target)


def test_cnthctl_traps_el1_physical_counter_and_timer_to_el2(timer):
    assert target(timer, "CNTPCT_EL0", 1) is None               # reset: EL1PCTEN | EL1PCEN
    timer.write("CNTHCTL_EL2", 0)
    assert target(timer, "CNTPCT_EL0", 1) == (TRAPPED, 2)
    assert target(timer, "CNTP_CTL_EL0", 1, read=False) == (TRAPPED, 2)
    assert target(timer, "CNTVCT_EL0", 1) is None               # never trapped by CNTHCTL (E2H = 0)
    assert target(timer, "CNTP_CTL_EL0", 2) is None             # EL2 itself is never trapped


def test_cntkctl_traps_el0_accesses_to_el1_or_el2_with_tge(timer):
    timer.write("CNTKCTL_EL1", 0)
    assert target(timer, "CNTVCT_EL0", 0) == (TRAPPED, 1)
    assert target(timer, "CNTV_CTL_EL0", 0) == (TRAPPED, 1)
    assert target(timer, "CNTVCT_EL0", 0, tge=True) == (TRAPPED, 2)
    timer.write("CNTKCTL_EL1", 0x2 | (1 << 8))                 # EL0VCTEN, EL0VTEN
    assert target(timer, "CNTVCT_EL0", 0) is None and target(timer, "CNTV_TVAL_EL0", 0) is None
    assert target(timer, "CNTP_TVAL_EL0", 0) == (TRAPPED, 1)


@pytest.mark.parametrize("name", ["CNTVOFF_EL2", "CNTHCTL_EL2", "CNTHP_CTL_EL2", "CNTHP_CVAL_EL2", "CNTHP_TVAL_EL2"])
@pytest.mark.parametrize("read", [True, False])
def test_el2_registers_are_undefined_below_el2(timer, name, read):
    assert target(timer, name, 1, read) == (UNDEFINED, 1)
    assert target(timer, name, 0, read) == (UNDEFINED, 1)
    assert target(timer, name, 0, read, tge=True) == (UNDEFINED, 2)
    assert target(timer, name, 2, read) is None


def test_cntkctl_is_undefined_at_el0(timer):
    assert target(timer, "CNTKCTL_EL1", 0) == (UNDEFINED, 1)
    assert target(timer, "CNTKCTL_EL1", 1, read=False) is None


def test_counter_writes_are_undefined_at_every_el(timer):
    for el in (0, 1, 2):
        for name in ("CNTPCT_EL0", "CNTVCT_EL0"):
            assert target(timer, name, el, read=False) == (UNDEFINED, max(el, 1))


def test_cntfrq_is_writable_only_at_the_highest_el(timer):
    assert target(timer, "CNTFRQ_EL0", 2, read=False, highest_el=2) is None
    assert target(timer, "CNTFRQ_EL0", 1, read=False, highest_el=2) == (UNDEFINED, 1)
    assert target(timer, "CNTFRQ_EL0", 1, read=False, highest_el=1) is None
    assert target(timer, "CNTFRQ_EL0", 1, read=True, highest_el=2) is None
