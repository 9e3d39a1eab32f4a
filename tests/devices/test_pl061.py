"""PL061 GPIO (emu/devices/pl061.py) against register-level behaviour of Arm DDI 0190 and
QEMU's hw/gpio/pl061.c."""

import json

import pytest

from emu.devices.irq import IrqLine
from emu.devices.log import RecordingLog
from emu.devices.pl061 import Pl061

DIR, IS, IBE, IEV, IE, RIS, MIS, IC, AFSEL = 0x400, 0x404, 0x408, 0x40C, 0x410, 0x414, 0x418, 0x41C, 0x420
ALL = 0x3FC  # GPIODATA with every address mask bit set


class Gpio:
    def __init__(self):
        self.levels = []
        self.irq = IrqLine(self.levels.append, "gpiointr")
        self.log = RecordingLog()
        self.outputs = []
        self.dev = Pl061(self.irq, self.log, on_output=lambda pin, level: self.outputs.append((pin, level)))

    def rd(self, off, size=4):
        return self.dev.read(off, size)

    def wr(self, off, value, size=4):
        self.dev.write(off, size, value)


@pytest.fixture
def g():
    return Gpio()


def data(mask):
    """The GPIODATA offset whose address bits [9:2] are ``mask``."""
    return mask << 2


def test_reset_values(g):
    expect = {ALL: 0, DIR: 0, IS: 0, IBE: 0, IEV: 0, IE: 0, RIS: 0, MIS: 0, AFSEL: 0}
    assert {off: g.rd(off) for off in expect} == expect
    assert not g.log.entries and not g.irq.level


def test_periph_and_pcell_id(g):
    assert [g.rd(0xFE0 + 4 * i) for i in range(4)] == [0x61, 0x10, 0x04, 0x00]
    assert [g.rd(0xFF0 + 4 * i) for i in range(4)] == [0x0D, 0xF0, 0x05, 0xB1]


def test_control_registers_keep_eight_bits(g):
    for off in (DIR, IBE, IE, AFSEL):
        g.wr(off, 0xFFFF_FFFF)
        assert g.rd(off) == 0xFF


def test_data_write_changes_only_output_pins(g):
    g.wr(DIR, 0x0F)
    g.wr(data(0xFF), 0xFF)
    assert g.rd(ALL) == 0x0F


def test_data_write_changes_only_the_address_masked_bits(g):
    g.wr(DIR, 0xFF)
    g.wr(data(0xFF), 0xFF)
    g.wr(data(0x05), 0x00)
    assert g.rd(ALL) == 0xFA


def test_data_read_returns_only_the_address_masked_bits(g):
    g.wr(DIR, 0xFF)
    g.wr(data(0xFF), 0xA5)
    assert g.rd(data(0x0F)) == 0x05 and g.rd(data(0x00)) == 0


def test_byte_accesses_as_linux_uses_them(g):
    g.wr(DIR, 0x08, size=1)
    g.wr(data(0x08), 0x08, size=1)
    assert g.rd(data(0x08), size=1) == 0x08 and g.rd(DIR, size=1) == 0x08


def test_outputs_follow_data_and_inputs_read_as_pulled_up(g):
    g.wr(DIR, 0x01)
    assert g.outputs == [(0, False)]
    g.wr(data(0x01), 1)
    assert g.outputs == [(0, False), (0, True)]


def test_set_input_is_ignored_on_an_output_pin(g):
    g.wr(DIR, 0x01)
    g.dev.set_input(0, True)
    assert g.rd(ALL) == 0


def test_level_interrupt_latches_while_active(g):
    g.wr(IS, 0x10)  # pin 4 level-sensitive, active low (IEV 0), and low
    assert g.rd(RIS) == 0x10 and g.rd(MIS) == 0 and not g.irq.level
    g.wr(IE, 0x10)
    assert g.irq.level and g.rd(MIS) == 0x10


def test_ic_does_not_clear_an_active_level(g):
    g.wr(IS, 0x10)
    g.wr(IC, 0x10)
    assert g.rd(RIS) == 0x10
    g.wr(IEV, 0x10)  # active high now: the pin is low
    g.wr(IC, 0x10)
    assert g.rd(RIS) == 0


def test_ic_is_write_only(g):
    assert g.rd(IC) == 0
    assert any("write-only" in m for m in g.log.guest_errors)


def test_rising_edge_interrupt_from_an_input(g):
    g.wr(IEV, 0x04)
    g.wr(IE, 0x04)
    g.dev.set_input(2, True)
    assert g.rd(RIS) == 0x04 and g.irq.level
    g.wr(IC, 0x04)
    g.dev.set_input(2, False)  # a falling edge: not selected
    assert g.rd(RIS) == 0 and not g.irq.level


def test_both_edges_interrupt(g):
    g.wr(IBE, 0x02)
    g.dev.set_input(1, True)
    g.wr(IC, 0x02)
    g.dev.set_input(1, False)
    assert g.rd(RIS) == 0x02


def test_output_turned_input_counts_as_an_edge(g):
    g.wr(IEV, 0x20)
    g.wr(DIR, 0x20)
    g.wr(data(0x20), 0x20)
    assert g.rd(RIS) == 0
    g.wr(DIR, 0x00)
    assert g.rd(RIS) == 0x20


def test_luminary_registers_are_guest_errors(g):
    g.wr(0x520, 0xACCE551)
    assert g.rd(0x510) == 0 and len(g.log.guest_errors) == 2


def test_state_round_trip(g):
    g.wr(DIR, 0x0F)
    g.wr(data(0xFF), 0x0A)
    g.wr(IS, 0x10)
    g.wr(IE, 0x10)
    state = json.loads(json.dumps(g.dev.state()))
    h = Gpio()
    h.dev.from_state(state)
    assert h.rd(ALL) == 0x0A and h.rd(MIS) == 0x10 and h.irq.level


def test_reset_clears_pins_and_interrupts(g):
    g.wr(DIR, 0xFF)
    g.wr(data(0xFF), 0xFF)
    g.wr(IS, 0x01)
    g.wr(IE, 0x01)
    g.dev.reset()
    assert g.rd(ALL) == 0 and g.rd(RIS) == 0 and not g.irq.level
