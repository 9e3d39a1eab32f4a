"""Routing the generic timer's system registers from the CPU to the timer model.

Every MRS/MSR reaches a hook; the native filter (emu/cpu/native.py) lets all but CRn == 14
execute natively, and the Python handlers here serve the generic timer registers from the
model, so the guest sees the machine's virtual counter, never the host clock.
"""

from __future__ import annotations

import ctypes
from typing import Callable

from unicorn import UC_HOOK_INSN, Uc
from unicorn.arm64_const import UC_ARM64_INS_MRS, UC_ARM64_INS_MSR
from unicorn.unicorn_py3.unicorn import uc_hook_h, uclib

from . import native
from .fastreg import CpRegBuf
from .sysregs import SYSREGS

_HANDLER = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)

TIMER_REGS = {(r.op0, r.op1, r.crn, r.crm, r.op2): name for name, r in SYSREGS.items() if r.crn == 14}


class TimerRegisters:
    """Serves MRS/MSR of CNT* registers from ``timer``; ``after_write`` runs after each MSR."""

    def __init__(self, uc: Uc, timer, after_write: Callable[[], None], on_error: Callable[[BaseException], None]):
        self.uc = uc
        self.timer = timer
        self.after_write = after_write
        self.on_error = on_error
        self._keep = []
        for insn, fn in ((UC_ARM64_INS_MRS, self._mrs), (UC_ARM64_INS_MSR, self._msr)):
            handler = _HANDLER(fn)
            if native.available():
                flt = native.SysregFilter(ctypes.cast(handler, ctypes.c_void_p).value)
                cb, user = native.sysreg_hook_address(), ctypes.addressof(flt)
                self._keep.append(flt)
            else:
                cb, user = ctypes.cast(handler, ctypes.c_void_p).value, 0
            self._keep.append(handler)
            hh = uc_hook_h()
            err = uclib.uc_hook_add(uc._uch, ctypes.byref(hh), UC_HOOK_INSN, ctypes.c_void_p(cb), ctypes.c_void_p(user),
                                    ctypes.c_uint64(1), ctypes.c_uint64(0), ctypes.c_int(insn))
            if err:
                raise RuntimeError(f"uc_hook_add(UC_HOOK_INSN) failed ({err})")
            self._keep.append(hh)

    @staticmethod
    def _name(cp_ptr: int) -> str | None:
        cp = CpRegBuf.from_address(cp_ptr)
        return TIMER_REGS.get((cp.op0, cp.op1, cp.crn, cp.crm, cp.op2))

    def _mrs(self, _uch, reg: int, cp_ptr: int, _ud) -> int:
        try:
            name = self._name(cp_ptr)
            if name is None:
                return 0
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
            self.timer.write(name, CpRegBuf.from_address(cp_ptr).val)
            self.after_write()
            return 1
        except BaseException as err:
            self.on_error(err)
            return 1
