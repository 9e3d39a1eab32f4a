"""Arm PrimeCell Real Time Clock (PL031), per the PrimeCell RTC (PL031) Technical Reference
Manual, Arm DDI 0224, with the register behaviour of QEMU's hw/rtc/pl031.c (our differential
reference, which stock Linux and U-Boot are written against on the virt board).

Interface
    MMIO      4 KiB (SIZE 0x1000); word accesses only (the TRM's APB registers are 32 bits).
    IRQ out   ``irq`` is RTCINTR: RTCRIS AND RTCIMSC.
    Clock     ``clock.now()`` is the system counter (the machine's VirtualClock), ``hz`` its
              rate; the RTC counts whole seconds of it: RTCDR = offset + now // hz. In the
              machine's deterministic time this is virtual time, from ``start``
              (DETERMINISTIC_START, 2026-01-01 00:00:00 UTC, when the counter is 0), so a run
              reads the same dates every time; in realtime mode the factory passes the host's
              UTC seconds at start-up, as QEMU's default ``-rtc base=utc`` does.
    Deadline  ``next_deadline()`` is the counter value at which the match interrupt is due (or
              None); ``update()`` raises it once the counter has got there. Register reads
              that can show it (RTCDR, RTCRIS, RTCMIS) update first, so a polling guest sees it
              whenever the owner of the run loop last looked.
    Not modelled
              the 1 Hz CLK1HZ input and its divider (time is the counter's), RTCCR.RTCStart:
              the clock is always running and RTCCR reads 1 whatever is written (as QEMU);
              the integration test registers RTCITCR/RTCITOP/RTCITIP (guest errors, as in QEMU).

Where QEMU and the TRM differ, we follow the TRM when no guest can tell the difference in a
way that matters, and say so:

- The match interrupt is raised when RTCDR becomes equal to RTCMR (TRM, "Interrupt
  generation"), i.e. at the second boundary. QEMU arms a timer at now + (MR - DR) seconds
  from the moment of the write, so it fires up to one second after the boundary.
- A write to RTCMR or RTCLR that makes RTCDR equal to RTCMR at once raises RTCRIS at once (as
  QEMU; the TRM's comparator does the same on its next evaluation).
- RTCICR clears the RTCRIS bits written as 1 (TRM; QEMU 7.2 does the same).
- RTCLR reads back the last value written (QEMU keeps it; the TRM reads the load register).
"""

from __future__ import annotations

from typing import Any, Protocol

from .base import MmioDevice
from .irq import IrqLine
from .log import LogSink
from .regs import RO, Access, Field, Reg, RegisterMap

#: RTCDR at counter 0 in deterministic time: 2026-01-01 00:00:00 UTC (seconds since 1970).
DETERMINISTIC_START = 0x6955_B900

MASK32 = 0xFFFF_FFFF

# The one interrupt bit, at bit 0 of RTCIMSC, RTCRIS, RTCMIS and RTCICR.
RTCINTR = Field("RTCINTR", 0)


class Clock(Protocol):
    def now(self) -> int: ...


class Pl031(MmioDevice):
    """PL031 RTC (Arm DDI 0224). See the module docstring for the interface."""

    SIZE = 0x1000

    REGS = RegisterMap(
        Reg("DR", 0x000, access=RO, on_read="_read_dr", doc="data: the seconds counter"),
        Reg("MR", 0x004, on_write="_write_mr", doc="match"),
        Reg("LR", 0x008, on_write="_write_lr", doc="load: sets the counter"),
        # Always running: RTCStart reads 1 and nothing a guest writes changes it (as QEMU).
        Reg("CR", 0x00C, reset=1, mask=0, fields=(Field("RTCStart", 0),)),
        Reg("IMSC", 0x010, mask=RTCINTR.mask, on_change="update", fields=(RTCINTR,)),
        Reg("RIS", 0x014, access=RO, on_read="_read_ris", fields=(RTCINTR,)),
        Reg("MIS", 0x018, access=RO, on_read="_read_mis", fields=(RTCINTR,)),
        # Write-only, write-one-to-clear over RTCRIS.
        Reg("ICR", 0x01C, access=Access.CLEAR, target="RIS", mask=RTCINTR.mask,
            on_change="_update_irq", fields=(RTCINTR,)),
        Reg("PeriphID", 0xFE0, access=RO, count=4, reset=(0x31, 0x10, 0x14, 0x00)),
        Reg("PCellID", 0xFF0, access=RO, count=4, reset=(0x0D, 0xF0, 0x05, 0xB1)),
    )

    def __init__(self, irq: IrqLine, clock: Clock, hz: int, start: int = DETERMINISTIC_START,
                 log: LogSink | None = None, name: str = "pl031"):
        super().__init__(log=log, name=name)
        self.irq = irq
        self.clock = clock
        self.hz = hz
        self._start = start & MASK32
        # RTCDR = (offset + elapsed seconds) mod 2^32; RTCLR moves the offset (QEMU's tick_offset).
        self._offset = self._start
        self._alarm_at: int | None = None  # counter value at which RTCDR reaches RTCMR
        self._arm()

    # --- time ----------------------------------------------------------------------------

    def count(self) -> int:
        """RTCDR now."""
        return (self._offset + self.clock.now() // self.hz) & MASK32

    def _arm(self) -> None:
        """Compare RTCMR with the counter: match now, or the counter value of the next match.
        The subtraction wraps as the 32-bit counter does, so a match value below RTCDR is due
        after the wrap (QEMU's pl031_set_alarm reasons the same way)."""
        seconds = (self.regs["MR"] - self.count()) & MASK32
        if seconds == 0:
            self._alarm_at = None
            self.regs["RIS"] |= RTCINTR.mask
            self._update_irq()
        else:
            self._alarm_at = (self.clock.now() // self.hz + seconds) * self.hz

    def update(self) -> None:
        """Latch the match if the counter has reached it, and recompute RTCINTR."""
        if self._alarm_at is not None and self.clock.now() >= self._alarm_at:
            self._alarm_at = None
            self.regs["RIS"] |= RTCINTR.mask
        self._update_irq()

    def next_deadline(self) -> int | None:
        """The counter value at which RTCINTR will assert, if it is armed and unmasked. A
        masked match is latched into RTCRIS by the next read or ``update()`` instead: nothing
        need stop for it (after reset RTCMR = 0 is armed for the 32-bit wrap, decades away)."""
        return self._alarm_at if self.regs["IMSC"] & RTCINTR.mask else None

    # --- register handlers -----------------------------------------------------------------

    def _read_dr(self) -> int:
        self.update()  # a guest polling RTCDR for the match sees RTCRIS with it
        return self.count()

    def _write_mr(self, value: int) -> None:
        self.regs["MR"] = value
        self._arm()

    def _write_lr(self, value: int) -> None:
        self.regs["LR"] = value
        self._offset = (self._offset + value - self.count()) & MASK32
        self._arm()

    def _read_ris(self) -> int:
        self.update()
        return self.regs["RIS"]

    def _read_mis(self) -> int:
        self.update()
        return self.regs["RIS"] & self.regs["IMSC"]

    def _update_irq(self) -> None:
        """RTCINTR: the masked interrupt status (TRM, "Interrupt generation")."""
        self.irq.set(self.regs["RIS"] & self.regs["IMSC"] & RTCINTR.mask)

    # --- life cycle ------------------------------------------------------------------------

    def reset(self) -> None:
        super().reset()
        self._offset = self._start
        self._arm()

    def state(self) -> dict[str, Any]:
        s = super().state()
        s["offset"] = self._offset
        s["alarm_armed"] = self._alarm_at is not None
        s["alarm_at"] = self._alarm_at or 0
        return s

    def from_state(self, state: dict[str, Any]) -> None:
        super().from_state(state)
        self._offset = int(state.get("offset", self._start)) & MASK32
        self._alarm_at = int(state.get("alarm_at", 0)) if state.get("alarm_armed") else None
        self._update_irq()
