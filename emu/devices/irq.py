"""Interrupt lines between a device and an interrupt controller.

A device is given its output lines through its constructor and drives them from one
``_update_irq()``; it never knows what is on the other end. The sink (for example the
GIC's input for one INTID) is called only when the level changes, as with Renode's GPIO
and QEMU's qemu_irq, so a device may recompute its outputs as often as it likes.
"""

from __future__ import annotations

from typing import Callable

IrqSink = Callable[[bool], None]


class IrqLine:
    """A level-sensitive wire: ``level`` is True while asserted."""

    def __init__(self, sink: IrqSink | None = None, name: str = ""):
        self.name = name
        self.level = False
        self._sink = sink

    def connect(self, sink: IrqSink | None) -> None:
        """Attach the receiving end (wiring is the board's job). The sink sees only
        changes from now on; call ``sink(line.level)`` yourself to sync a late connection."""
        self._sink = sink

    def set(self, level: bool | int) -> None:
        level = bool(level)
        if level == self.level:
            return
        self.level = level
        if self._sink is not None:
            self._sink(level)

    def raise_(self) -> None:
        self.set(True)

    def lower(self) -> None:
        self.set(False)

    def pulse(self) -> None:
        """An edge for edge-triggered inputs: raise then lower. The line ends low; if it
        was already high only the falling edge is seen."""
        self.set(True)
        self.set(False)

    def __repr__(self) -> str:
        return f"IrqLine({self.name or '?'}, level={int(self.level)})"


class NullIrq(IrqLine):
    """A line connected to nothing; it still remembers its level, for tests."""

    def __init__(self, name: str = "null"):
        super().__init__(None, name)
