"""IRQ lines (emu/devices/irq.py): the sink sees level changes only."""

from emu.devices.irq import IrqLine, NullIrq


def test_sink_called_only_on_level_change():
    levels = []
    line = IrqLine(levels.append, "uart")
    line.set(1)
    line.raise_()
    line.set(True)
    line.lower()
    line.lower()
    assert levels == [True, False]
    assert not line.level


def test_pulse_from_low_gives_both_edges():
    levels = []
    line = IrqLine(levels.append)
    line.pulse()
    assert levels == [True, False]


def test_pulse_from_high_ends_low():
    levels = []
    line = IrqLine(levels.append)
    line.raise_()
    line.pulse()
    assert levels == [True, False] and not line.level


def test_connect_late():
    line = IrqLine()
    line.raise_()
    levels = []
    line.connect(levels.append)
    line.lower()
    assert levels == [False]


def test_null_irq_keeps_level():
    line = NullIrq()
    line.raise_()
    assert line.level
