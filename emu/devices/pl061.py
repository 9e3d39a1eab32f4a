"""Arm PrimeCell General Purpose Input/Output (PL061), per the PrimeCell GPIO (PL061)
Technical Reference Manual, Arm DDI 0190, with the register behaviour of QEMU's
hw/gpio/pl061.c (the plain PL061, not the Luminary variant): our differential reference,
which Linux's gpio-pl061 driver is written against on the virt board.

Interface
    MMIO      4 KiB (SIZE 0x1000); byte, halfword and word accesses (Linux uses readb/writeb).
    IRQ out   ``irq`` is GPIOINTR: OR of GPIORIS AND GPIOIE.
    Pins      8. ``set_input(pin, level)`` drives a pin from outside (a button, another
              device); it counts only while the pin is an input (GPIODIR bit clear).
              ``on_output(pin, level)``, if given, sees each change of a pin's output level:
              outputs follow GPIODATA, inputs read as pulled up (``pullups``, QEMU's
              property, default 0xFF) or keep their last level when floating.
    Not modelled
              the Luminary Micro registers at 0x500-0x528 (drive strength, pull-up/down,
              lock and commit: guest errors, as on QEMU's plain PL061), the test registers
              (GPIOITCR, ...), the reserved ID words 0xFD0-0xFDC (guest errors, read 0 as on
              QEMU). GPIOAFSEL is storage: no alternate function is wired.

Behaviour follows QEMU's pl061_update, which is also what a guest can observe there:

- GPIODATA is 256 words: address bits [9:2] mask the access (TRM, "Address masking"). A read
  returns the data bits the mask selects; a write changes only the selected bits that are
  outputs.
- Level-sensitive pins (GPIOIS set) latch into GPIORIS while the pin's level equals GPIOIEV
  (1 high, 0 low); clearing with GPIOIC does not hold while the level stays.
- Edge-sensitive pins latch on a change of an input's data bit: either edge with GPIOIBE,
  otherwise the edge GPIOIEV selects. A pin turned from output into input with a data bit
  that differs from the last input level counts as such a change (as QEMU).
"""

from __future__ import annotations

from typing import Any, Callable

from .base import MmioDevice
from .irq import IrqLine
from .log import LogSink
from .regs import RO, Access, Reg, RegisterMap

N_PINS = 8
PINS = (1 << N_PINS) - 1


class Pl061(MmioDevice):
    """PL061 GPIO (Arm DDI 0190). See the module docstring for the interface."""

    SIZE = 0x1000

    REGS = RegisterMap(
        # GPIODATA at 0x000-0x3FC: one word per mask value, address bits [9:2].
        Reg("DATA", 0x000, count=256, mask=PINS, on_read="_read_data", on_write="_write_data"),
        Reg("DIR", 0x400, mask=PINS, on_change="_update"),
        Reg("IS", 0x404, mask=PINS, on_change="_update"),
        Reg("IBE", 0x408, mask=PINS, on_change="_update"),
        Reg("IEV", 0x40C, mask=PINS, on_change="_update"),
        Reg("IE", 0x410, mask=PINS, on_change="_update"),
        Reg("RIS", 0x414, access=RO),
        Reg("MIS", 0x418, access=RO, on_read="_read_mis"),
        # Write-only, write-one-to-clear over GPIORIS.
        Reg("IC", 0x41C, access=Access.CLEAR, target="RIS", mask=PINS, on_change="_update"),
        Reg("AFSEL", 0x420, mask=PINS),
        Reg("PeriphID", 0xFE0, access=RO, count=4, reset=(0x61, 0x10, 0x04, 0x00)),
        Reg("PCellID", 0xFF0, access=RO, count=4, reset=(0x0D, 0xF0, 0x05, 0xB1)),
        sizes=(1, 2, 4),
    )

    def __init__(self, irq: IrqLine, log: LogSink | None = None, name: str = "pl061",
                 pullups: int = PINS, on_output: Callable[[int, bool], None] | None = None):
        super().__init__(log=log, name=name)
        self.irq = irq
        self.pullups = pullups & PINS
        self.on_output = on_output
        self._data = 0          # the pins' levels: outputs as written, inputs as driven
        self._old_in = 0        # input levels at the last update, for edge detection
        self._old_out = self.pullups  # output levels last reported (QEMU's old_out_data)

    # --- pins --------------------------------------------------------------------------

    def set_input(self, pin: int, level: bool) -> None:
        """Drive ``pin`` from outside; ignored while the pin is an output."""
        bit = 1 << pin
        if self.regs["DIR"] & bit:
            return
        self._data = (self._data | bit) if level else (self._data & ~bit)
        self._update()

    # --- register handlers ---------------------------------------------------------------

    def _read_data(self, index: int) -> int:
        return self._data & index

    def _write_data(self, index: int, value: int) -> None:
        mask = index & self.regs["DIR"]
        self._data = (self._data & ~mask) | (value & mask)
        self._update()

    def _read_mis(self) -> int:
        return self.regs["RIS"] & self.regs["IE"]

    def _update(self) -> None:
        """Outputs, interrupt latches and GPIOINTR from the pins' state (QEMU's pl061_update)."""
        dir_, data = self.regs["DIR"], self._data
        floating = ~self.pullups & ~dir_ & PINS
        out = (data & dir_) | (self.pullups & ~dir_) | (self._old_out & floating)
        changed = self._old_out ^ out
        if changed:
            self._old_out = out
            if self.on_output is not None:
                for pin in range(N_PINS):
                    if changed >> pin & 1:
                        self.on_output(pin, bool(out >> pin & 1))

        ris = self.regs["RIS"]
        isense, iev = self.regs["IS"], self.regs["IEV"]
        changed = (self._old_in ^ data) & ~dir_ & PINS
        if changed:
            self._old_in = data
            edge = changed & ~isense
            ris |= edge & self.regs["IBE"]
            ris |= edge & ~self.regs["IBE"] & ~(data ^ iev)
        ris |= ~(data ^ iev) & isense & PINS  # level-sensitive pins at their active level
        self.regs["RIS"] = ris
        self._update_irq()

    def _update_irq(self) -> None:
        """GPIOINTR: any masked interrupt status bit (TRM, "Interrupt generation")."""
        self.irq.set(self.regs["RIS"] & self.regs["IE"])

    # --- life cycle --------------------------------------------------------------------

    def reset(self) -> None:
        super().reset()
        self._data = 0
        self._old_in = 0
        self._old_out = self.pullups
        self._update_irq()

    def state(self) -> dict[str, Any]:
        s = super().state()
        s["pins"] = {"data": self._data, "old_in": self._old_in, "old_out": self._old_out}
        return s

    def from_state(self, state: dict[str, Any]) -> None:
        super().from_state(state)
        pins = state.get("pins", {})
        self._data = int(pins.get("data", 0)) & PINS
        self._old_in = int(pins.get("old_in", 0)) & PINS
        self._old_out = int(pins.get("old_out", self.pullups)) & PINS
        self._update_irq()
