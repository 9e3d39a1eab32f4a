"""Arm generic timers of one core (Arm DDI 0487, D11 "The Generic Timer in AArch64 state").

Interface: system registers, not MMIO; the CPU glue hands over every MRS/MSR of a CRn == 14
register. Outputs: one level IRQ line per timer: EL1 physical (CNTP, PPI 30), EL1 virtual
(CNTV, PPI 27), EL2 physical (CNTHP, PPI 26). Input: the system counter (a VirtualClock).

Each timer has CTL (ENABLE, IMASK, ISTATUS), CVAL and the TVAL view of CVAL (a signed 32-bit
down-counter: reads give CVAL - now, writes set CVAL = now + sign-extended value). The
virtual counter is the physical one minus CNTVOFF_EL2. The output is asserted while
ENABLE && ISTATUS && !IMASK; ISTATUS is true while the counter has reached CVAL.

Access control (D11.2.2, D13.8 with HCR_EL2.E2H = 0): :meth:`access` says whether an access
is UNDEFINED (an EL2 register below EL2, CNTKCTL_EL1 at EL0, a write to a counter, CNTFRQ_EL0
written below the highest EL) or must trap instead: CNTHCTL_EL2.EL1PCTEN/EL1PCEN send EL0/EL1
accesses of the physical counter/timer to EL2; CNTKCTL_EL1.EL0PCTEN/EL0VCTEN/EL0PTEN/EL0VTEN
send EL0 accesses to EL1 (to EL2 with HCR_EL2.TGE).

Not modelled: the EL2 virtual timer (FEAT_VHE), the secure physical timer, event streams
(CNTKCTL.EVNTEN, CNTHCTL.EVNTEN).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .irq import IrqLine

CTL_ENABLE = 1 << 0
CTL_IMASK = 1 << 1
CTL_ISTATUS = 1 << 2

MASK64 = (1 << 64) - 1

# The lowest EL that may access each register at all (the rest are EL0 registers), and the
# registers that have no MSR encoding.
REGISTER_EL = {"CNTKCTL_EL1": 1, "CNTVOFF_EL2": 2, "CNTHCTL_EL2": 2,
               "CNTHP_CTL_EL2": 2, "CNTHP_CVAL_EL2": 2, "CNTHP_TVAL_EL2": 2}
READ_ONLY = frozenset(("CNTPCT_EL0", "CNTVCT_EL0"))

UNDEFINED = 0x00  # EC_UNKNOWN: the access is UNDEFINED
TRAPPED = 0x18    # EC_SYS64: a trapped MSR/MRS


@dataclass(frozen=True)
class Access:
    """An access that does not reach the register: the exception class and the target EL."""

    ec: int
    target: int


@dataclass
class _Timer:
    name: str
    line: IrqLine
    virtual: bool
    ctl: int = 0
    cval: int = 0


class GenericTimer:
    def __init__(self, clock, frequency: int, phys_irq: IrqLine, virt_irq: IrqLine, hyp_irq: IrqLine):
        self.clock = clock
        self.frequency = frequency
        self._listeners: list[Callable[[], None]] = []
        self._cntvoff = 0
        self._cntkctl = 0
        self._cnthctl = 0x3  # EL1PCTEN | EL1PCEN: EL1 may use the physical counter and timer
        self.timers = {
            "CNTP": _Timer("CNTP", phys_irq, False),
            "CNTV": _Timer("CNTV", virt_irq, True),
            "CNTHP": _Timer("CNTHP", hyp_irq, False),
        }

    # -- what the counter reads depend on ----------------------------------------------------------

    def on_counter_controls_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` whenever CNTVOFF_EL2, CNTKCTL_EL1 or CNTHCTL_EL2 changes: what a
        counter read returns and whether it is allowed (the CPU glue serves counter reads
        natively from a copy of them)."""
        self._listeners.append(listener)

    def _set_control(self, attr: str, value: int) -> None:
        if getattr(self, attr) != value:
            setattr(self, attr, value)
            for listener in self._listeners:
                listener()

    cntvoff = property(lambda self: self._cntvoff, lambda self, v: self._set_control("_cntvoff", v))
    cntkctl = property(lambda self: self._cntkctl, lambda self, v: self._set_control("_cntkctl", v))
    cnthctl = property(lambda self: self._cnthctl, lambda self, v: self._set_control("_cnthctl", v))

    # -- counter views --------------------------------------------------------------------------

    def physical(self) -> int:
        return self.clock.now()

    def virtual(self) -> int:
        return (self.clock.now() - self.cntvoff) & MASK64

    def _count(self, t: _Timer) -> int:
        return self.virtual() if t.virtual else self.physical()

    # -- system registers -----------------------------------------------------------------------

    def read(self, name: str) -> int:
        if name == "CNTPCT_EL0":
            return self.physical()
        if name == "CNTVCT_EL0":
            return self.virtual()
        if name == "CNTFRQ_EL0":
            return self.frequency
        if name == "CNTVOFF_EL2":
            return self.cntvoff
        if name == "CNTKCTL_EL1":
            return self.cntkctl
        if name == "CNTHCTL_EL2":
            return self.cnthctl
        t, field = self._decode(name)
        if field == "CTL":
            return t.ctl | (CTL_ISTATUS if self._istatus(t) else 0)
        if field == "CVAL":
            return t.cval
        return (t.cval - self._count(t)) & 0xFFFFFFFF  # TVAL

    def write(self, name: str, value: int) -> None:
        value &= MASK64
        if name == "CNTVOFF_EL2":
            self.cntvoff = value
        elif name == "CNTKCTL_EL1":
            self.cntkctl = value & 0x3FF
        elif name == "CNTHCTL_EL2":
            self.cnthctl = value & 0xFF
        elif name == "CNTFRQ_EL0":
            self.frequency = value & 0xFFFFFFFF  # firmware may set it; the counter rate stays
        elif name in ("CNTPCT_EL0", "CNTVCT_EL0"):
            return  # read-only
        else:
            t, field = self._decode(name)
            if field == "CTL":
                t.ctl = value & (CTL_ENABLE | CTL_IMASK)
            elif field == "CVAL":
                t.cval = value
            else:  # TVAL: CVAL = count + SignExtend(TVAL[31:0])
                tval = value & 0xFFFFFFFF
                if tval & 0x80000000:
                    tval -= 1 << 32
                t.cval = (self._count(t) + tval) & MASK64
        self.update()

    @staticmethod
    def _split(name: str) -> tuple[str, str]:
        # "CNTHP_TVAL_EL2" -> ("CNTHP", "TVAL")
        parts = name.split("_")
        return parts[0], parts[1]

    def _decode(self, name: str) -> tuple[_Timer, str]:
        timer, field = self._split(name)
        return self.timers[timer], field

    def access(self, name: str, el: int, read: bool, tge: bool = False, highest_el: int = 2) -> Access | None:
        """What an MRS (``read``) or MSR of ``name`` at ``el`` does instead of reaching the
        register, or None when it is allowed. The rules are the access pseudocode of each CNT*
        register (DDI 0487, D19.12) with HCR_EL2.E2H = 0:

        - EL2 registers (CNTVOFF_EL2, CNTHCTL_EL2, CNTHP_*) and CNTKCTL_EL1 below their EL, and
          MSR to the read-only counters: UNDEFINED, taken to EL1 (to EL2 from EL0 with TGE). An
          EL1 tenant must never move the hypervisor's counter offset or program its timer.
        - CNTFRQ_EL0 is writable only at the highest implemented EL: ``highest_el`` is the EL
          the board boots at (no EL3 firmware), as QEMU virt without secure=on.
        - EL0 accesses that CNTKCTL_EL1 does not enable trap to EL1 (EL2 with TGE), EC 0x18;
          EL0/EL1 physical counter and timer accesses that CNTHCTL_EL2 does not enable trap to
          EL2, EC 0x18.
        """
        low = 2 if el == 0 and tge else 1
        if el >= 2:
            if not read and name in READ_ONLY:
                return Access(UNDEFINED, el)
            if not read and name == "CNTFRQ_EL0" and el < highest_el:
                return Access(UNDEFINED, el)
            return None
        if REGISTER_EL.get(name, 0) > el:
            return Access(UNDEFINED, low)
        if not read and (name in READ_ONLY or name == "CNTFRQ_EL0" and el < highest_el):
            return Access(UNDEFINED, low)
        physical_counter = name == "CNTPCT_EL0"
        physical_timer = name.startswith("CNTP_")
        if el == 0:
            k = self.cntkctl
            if name == "CNTPCT_EL0" and not k & 0x1 \
                    or name == "CNTVCT_EL0" and not k & 0x2 \
                    or name == "CNTFRQ_EL0" and not k & 0x3 \
                    or name.startswith("CNTV_") and not k & (1 << 8) \
                    or physical_timer and not k & (1 << 9):
                return Access(TRAPPED, low)
        if physical_counter and not self.cnthctl & 0x1 or physical_timer and not self.cnthctl & 0x2:
            return Access(TRAPPED, 2)
        return None

    # -- outputs and deadlines --------------------------------------------------------------------

    def _istatus(self, t: _Timer) -> bool:
        return bool(t.ctl & CTL_ENABLE) and self._count(t) >= t.cval

    def update(self) -> None:
        """Recompute every timer's output from the counter now."""
        for t in self.timers.values():
            t.line.set(self._istatus(t) and not t.ctl & CTL_IMASK)

    def next_deadline(self) -> int | None:
        """Physical counter value at which the next enabled, unmasked timer will fire."""
        best = None
        for t in self.timers.values():
            if t.ctl & CTL_ENABLE and not t.ctl & CTL_IMASK and not t.line.level:
                at = (t.cval + self.cntvoff) & MASK64 if t.virtual else t.cval
                best = at if best is None else min(best, at)
        return best

    def state(self) -> dict:
        return {"cntvoff": self.cntvoff, "cntkctl": self.cntkctl, "cnthctl": self.cnthctl,
                "timers": {n: {"ctl": t.ctl, "cval": t.cval} for n, t in self.timers.items()}}

    def from_state(self, state: dict) -> None:
        self.cntvoff = state["cntvoff"]
        self.cntkctl = state["cntkctl"]
        self.cnthctl = state["cnthctl"]
        for n, s in state["timers"].items():
            self.timers[n].ctl = s["ctl"]
            self.timers[n].cval = s["cval"]
        self.update()
