"""Routing the generic timer's system registers from the CPU to the timer model.

Every MRS/MSR reaches a hook; the native filter (emu/cpu/native.py) lets all but CRn == 14
execute natively, and the Python handlers here serve the generic timer registers from the
model, so the guest sees the machine's virtual counter, never the host clock.

Reads of CNTPCT_EL0 and CNTVCT_EL0 are the exception: polling loops make them the most
frequent timer access by far, so the native filter serves them itself from a
:class:`native.CounterReads` that :meth:`TimerRegisters.sync_counter_reads` keeps equal to the
clock and the timer (the clock's offset, CNTVOFF_EL2, and at which ELs CNTHCTL_EL2 and
CNTKCTL_EL1 let a read through). Reads that would trap or be UNDEFINED still come here, and
so does everything when there is no native code.
"""

from __future__ import annotations

import ctypes
from typing import Callable

from unicorn import UC_HOOK_INSN, Uc
from unicorn.arm64_const import (
    UC_ARM64_INS_MRS,
    UC_ARM64_INS_MSR,
    UC_ARM64_REG_CP_REG,
    UC_ARM64_REG_PC,
    UC_ARM64_REG_PSTATE,
)

from . import native
from .fastreg import CpRegBuf
from .hooks import HookRegistry
from .gpr import X
from .sysregs import SYSREGS
from ..devices.generic_timer import UNDEFINED

_HANDLER = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)

_HCR = tuple(getattr(SYSREGS["HCR_EL2"], f) for f in ("crn", "crm", "op0", "op1", "op2"))

ESR_IL = 1 << 25

TIMER_REGS = {(r.op0, r.op1, r.crn, r.crm, r.op2): name for name, r in SYSREGS.items() if r.crn == 14}


class TimerRegisters:
    """Serves MRS/MSR of CNT* registers from ``timer``; ``after_write`` runs after each MSR."""

    def __init__(self, uc: Uc, timer, after_write: Callable[[], None], on_error: Callable[[BaseException], None],
                 highest_el: int = 2, hooks: HookRegistry | None = None):
        self.uc = uc
        if hooks is None:
            hooks = HookRegistry()
            hooks.attach(uc)
        self.highest_el = highest_el  # the EL the board boots at: CNTFRQ_EL0 is writable there
        self.timer = timer
        self.after_write = after_write
        self.on_error = on_error
        # A trapped access: (target EL, ESR, address of the MRS/MSR). Unicorn ignores a PC
        # written from this hook, so the hook stops the CPU and the run loop enters the trap.
        self.pending_trap: tuple[int, int, int] | None = None
        self._keep = []
        self.mpidr: int | None = None   # set_mpidr
        self.counter_reads = native.CounterReads()
        self.native_counter_reads = native.available()
        for insn, fn in ((UC_ARM64_INS_MRS, self._mrs), (UC_ARM64_INS_MSR, self._msr)):
            handler = _HANDLER(fn)
            if native.available() and insn == UC_ARM64_INS_MRS:
                c = self.counter_reads
                c.handler = ctypes.cast(handler, ctypes.c_void_p).value
                c.reg_read, c.reg_write = native.uc_reg_access_addresses()
                c.clock_gettime = native.clock_gettime_address()
                cb, user = native.mrs_hook_address(), ctypes.addressof(c)
            elif native.available():
                flt = native.SysregFilter(ctypes.cast(handler, ctypes.c_void_p).value)
                cb, user = native.sysreg_hook_address(), ctypes.addressof(flt)
                self._keep.append(flt)
            else:
                cb, user = ctypes.cast(handler, ctypes.c_void_p).value, 0
            self._keep.append(handler)
            hooks.add_native(uc, UC_HOOK_INSN, cb, user, insn=insn)
        timer.clock.on_change(self._clock_changed)
        timer.on_counter_controls_change(self.sync_counter_reads)
        self.sync_counter_reads()

    def serve_counter_reads_natively(self, on: bool) -> None:
        """Switch native counter reads on or off (off: every read is a Python call, as without
        native code; tests compare the two)."""
        self.native_counter_reads = on and native.available()
        self.sync_counter_reads()

    def _clock_changed(self) -> None:
        if self.counter_reads.allowed:
            self.sync_clock_view()      # what each EL may read is the controls', not the clock's
        else:
            self.sync_counter_reads()   # a view that could not be read natively may be now

    def sync_counter_reads(self) -> None:
        """Copy what a counter read depends on into the native hook's :class:`CounterReads`.

        ``allowed`` gets a bit for each EL and counter whose read :meth:`GenericTimer.access`
        lets through (with HCR_EL2.TGE either way: it only moves a trap's target); it is 0,
        and every read goes to Python, when the clock cannot be read natively."""
        c = self.counter_reads
        if not self.sync_clock_view():
            return
        allowed = 0
        for el in range(4):
            for i, name in enumerate(("CNTPCT_EL0", "CNTVCT_EL0")):
                if all(self.timer.access(name, el, True, tge, self.highest_el) is None for tge in (False, True)):
                    allowed |= 1 << (2 * el + i)
        c.allowed = allowed

    def sync_clock_view(self) -> bool:
        """Copy the clock's native view (which count, its offset) and CNTVOFF_EL2: enough when
        only the clock changed (a skip, another core's turn). False, with every read sent to
        Python, when the clock cannot be read natively."""
        c = self.counter_reads
        view = self.timer.clock.native_view() if self.native_counter_reads else None
        if view is None or not view[0] and not c.clock_gettime:
            c.allowed = 0
            return False
        c.source, c.offset, c.t0 = view
        c.cntvoff = self.timer.cntvoff
        return True

    @staticmethod
    def _name(cp_ptr: int) -> str | None:
        cp = CpRegBuf.from_address(cp_ptr)
        return TIMER_REGS.get((cp.op0, cp.op1, cp.crn, cp.crm, cp.op2))

    def _refused(self, name: str, reg: int, cp_ptr: int, read: bool) -> bool:
        """If the access is UNDEFINED or trapped at the current EL, arrange the exception and
        say so; the register is then left untouched."""
        el = (self.uc.reg_read(UC_ARM64_REG_PSTATE) >> 2) & 3
        tge = bool(self.uc.reg_read(UC_ARM64_REG_CP_REG, _HCR) & (1 << 27)) if el < 2 else False
        refusal = self.timer.access(name, el, read, tge, self.highest_el)
        if refusal is None:
            return False
        if refusal.ec == UNDEFINED:
            esr = ESR_IL  # EC 0x00, IL = 1, ISS 0: what an UNDEFINED MRS/MSR reports
        else:
            cp = CpRegBuf.from_address(cp_ptr)
            rt = X.index(reg) if reg in X else 31
            # ESR_ELx for EC 0x18 (trapped MSR/MRS), D17.2.37: Op0, Op2, Op1, CRn, Rt, CRm, Direction.
            iss = (cp.op0 << 20) | (cp.op2 << 17) | (cp.op1 << 14) | (cp.crn << 10) | (rt << 5) | (cp.crm << 1) | int(read)
            esr = (refusal.ec << 26) | ESR_IL | iss
        self.pending_trap = (refusal.target, esr, self.uc.reg_read(UC_ARM64_REG_PC))
        self.uc.emu_stop()
        return True

    def set_mpidr(self, value: int | None) -> None:
        """Serve MPIDR_EL1 reads at EL2 with ``value`` (core N of a machine with several; each
        Unicorn's own CPU says 0). EL1 reads stay native: they return VMPIDR_EL2, which the
        core's reset sets to the same value, as QEMU's does."""
        self.mpidr = value
        self.counter_reads.mpidr = 1 if value is not None else 0

    def _mrs(self, _uch, reg: int, cp_ptr: int, _ud) -> int:
        try:
            if self.mpidr is not None:
                cp = CpRegBuf.from_address(cp_ptr)
                if (cp.op0, cp.op1, cp.crn, cp.crm, cp.op2) == (3, 0, 0, 0, 5):
                    if (self.uc.reg_read(UC_ARM64_REG_PSTATE) >> 2) & 3 < 2:
                        return 0
                    self.uc.reg_write(reg, self.mpidr)
                    return 1
            name = self._name(cp_ptr)
            if name is None:
                return 0
            if not self._refused(name, reg, cp_ptr, read=True):
                self.uc.reg_write(reg, self.timer.read(name))
            return 1
        except BaseException as err:  # must not unwind through C
            self.on_error(err)
            return 1

    def _msr(self, _uch, reg: int, cp_ptr: int, _ud) -> int:
        try:
            name = self._name(cp_ptr)
            if name is None:
                return 0
            if not self._refused(name, reg, cp_ptr, read=False):
                self.timer.write(name, CpRegBuf.from_address(cp_ptr).val)
                self.after_write()
            return 1
        except BaseException as err:
            self.on_error(err)
            return 1
