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

Counter reads are served without Python where native code is available (emu/cpu/timer_glue.py,
emu/cpu/native.py), from the same inputs: :meth:`VirtualClock.native_view` describes them and
listeners hear of every change to the offset.
"""

from __future__ import annotations

import re
import time
from typing import Callable

from ..errors import EmuError

COUNTER_HZ = 62_500_000          # CNTFRQ_EL0, as QEMU's virt board reports it
INSNS_PER_TICK = 16              # 1 GHz virtual core / 62.5 MHz counter
MODES = ("deterministic", "realtime")

# Native counter reads divide by shifting (emu/cpu/native.py): keep these powers of two.
assert 4 * INSNS_PER_TICK == 1 << 6 and COUNTER_HZ * 16 == 1_000_000_000


_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def parse_virtual_time(value) -> int:
    """Counter ticks for a virtual duration: seconds as a number, or "10ms", "2s", "500us"."""
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = re.fullmatch(r"\s*([0-9.]+)\s*(s|ms|us|ns)\s*", str(value))
        if not m:
            raise EmuError(f"not a duration: {value!r} (try 10ms, 2s, 500us)")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    return int(seconds * COUNTER_HZ)


class VirtualClock:
    def __init__(self, mode: str = "deterministic"):
        if mode not in MODES:
            raise ValueError(f"unknown time mode {mode!r}")
        self.mode = mode
        self._offset = 0          # ticks added by skips (WFI) and restores
        self._insn_source = lambda: 0
        self._count_address = 0   # where the instruction counter keeps its count, in bytes of A64 code
        self._t0 = time.monotonic_ns()
        self._listeners: list[Callable[[], None]] = []

    def attach_instruction_counter(self, source, count_address: int = 0) -> None:
        """``source()`` returns the instructions retired so far (deterministic mode);
        ``count_address``, if known, is the address of the same count as a 64-bit number of
        bytes of code (4 per instruction), for native counter reads."""
        self._insn_source = source
        self._count_address = count_address
        self._changed()

    def follow(self, source, count_address: int = 0, notify: bool = True) -> None:
        """Count from another instruction counter from now on (another core's turn), without a
        jump: the counter reads the same just before and just after. ``notify=False`` leaves
        the listeners alone: the caller updates the one native reader that matters."""
        if self.mode == "deterministic":
            now = self.now()
            self._offset = now - source() // INSNS_PER_TICK
        self._insn_source = source
        self._count_address = count_address
        if notify:
            self._changed()

    def restore_counter(self, value: int, source, count_address: int = 0) -> None:
        """Count from ``source`` with the counter reading ``value`` now (restoring a snapshot of
        several cores, whose counts need not add up to the counter)."""
        self._insn_source = source
        self._count_address = count_address
        if self.mode == "deterministic":
            self._offset = value - source() // INSNS_PER_TICK
        else:
            self._offset = 0
            self._offset = value - self.now()
        self._changed()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` whenever :meth:`native_view` changes."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def native_view(self) -> tuple[int, int, int] | None:
        """(count address, offset, t0) from which native code computes :meth:`now` exactly:

        - deterministic: ``offset + count // (4 * INSNS_PER_TICK)``, the count read at the address;
        - realtime (count address 0): ``offset + (CLOCK_MONOTONIC ns - t0) // 16``, since
          ``COUNTER_HZ`` is 10^9 / 16.

        None when the count's address is unknown (deterministic mode without it)."""
        if self.mode == "deterministic" and not self._count_address:
            return None
        return (self._count_address if self.mode == "deterministic" else 0), self._offset, self._t0

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
            self._changed()

    def insns_until(self, value: int) -> int:
        """Instructions to execute before the counter reaches ``value`` (deterministic mode)."""
        return max(0, value - self.now()) * INSNS_PER_TICK

    def seconds_until(self, value: int) -> float:
        return max(0, value - self.now()) / COUNTER_HZ

    def state(self) -> dict:
        return {"mode": self.mode, "counter": self.now()}
