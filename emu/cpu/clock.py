"""Virtual time: the system counter every core's generic timer reads (CNTPCT_EL0).

Unicorn's own counter follows the host clock and its timers never fire, so the machine owns
time. Two modes:

- **deterministic** (the default for tests): the counter advances with retired instructions.
  The documented rate: the virtual core retires one instruction per nanosecond (1 GHz) and the
  counter runs at 62.5 MHz, as on QEMU's virt board, so it advances by one every 16
  instructions. Instructions are counted per translation block by a native hook
  (emu/cpu/native.py). The same image with the same inputs sees the same counter values.
- **realtime** (fast, interactive): the counter follows the host's monotonic clock.

In both modes a core waiting in WFI with nothing pending skips time forward to the next
timer deadline instead of waiting for it.
"""

from __future__ import annotations

import time

COUNTER_HZ = 62_500_000          # CNTFRQ_EL0, as QEMU's virt board reports it
INSNS_PER_TICK = 16              # 1 GHz virtual core / 62.5 MHz counter
MODES = ("deterministic", "realtime")


class VirtualClock:
    def __init__(self, mode: str = "deterministic"):
        if mode not in MODES:
            raise ValueError(f"unknown time mode {mode!r}")
        self.mode = mode
        self._offset = 0          # ticks added by skips (WFI) and restores
        self._insn_source = lambda: 0
        self._t0 = time.monotonic_ns()

    def attach_instruction_counter(self, source) -> None:
        """``source()`` returns the instructions retired so far (deterministic mode)."""
        self._insn_source = source

    def now(self) -> int:
        """The counter value, CNTPCT_EL0."""
        if self.mode == "deterministic":
            return self._offset + self._insn_source() // INSNS_PER_TICK
        return self._offset + (time.monotonic_ns() - self._t0) * COUNTER_HZ // 1_000_000_000

    def skip_to(self, value: int) -> None:
        """Jump forward to ``value`` (never backwards): a WFI that would wait until then."""
        now = self.now()
        if value > now:
            self._offset += value - now

    def insns_until(self, value: int) -> int:
        """Instructions to execute before the counter reaches ``value`` (deterministic mode)."""
        return max(0, value - self.now()) * INSNS_PER_TICK

    def seconds_until(self, value: int) -> float:
        return max(0, value - self.now()) / COUNTER_HZ

    def state(self) -> dict:
        return {"mode": self.mode, "counter": self.now()}
