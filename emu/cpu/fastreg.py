"""Lean register access for the exception-entry path.

The Python binding's ``reg_read``/``reg_write`` cost 2-4 us each (generic dispatch, fresh ctypes
objects). An exception entry touches about ten registers, so it uses the C library's
``uc_reg_read_batch``/``uc_reg_write_batch`` with buffers allocated once: one C call reads or
writes a whole group.
"""

from __future__ import annotations

import ctypes

from unicorn.arm64_const import UC_ARM64_REG_CP_REG
from unicorn.unicorn_py3.unicorn import uclib

from .sysregs import SysReg


class CpRegBuf(ctypes.Structure):
    """``uc_arm64_cp_reg``: how Unicorn names a system register by its encoding."""

    _fields_ = [
        ("crn", ctypes.c_uint32),
        ("crm", ctypes.c_uint32),
        ("op0", ctypes.c_uint32),
        ("op1", ctypes.c_uint32),
        ("op2", ctypes.c_uint32),
        ("val", ctypes.c_uint64),
    ]


_BATCH_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)


class RegBatch:
    """A fixed list of registers read or written with one C call.

    Entries are Unicorn register ids (ints) or :class:`SysReg` encodings (reached through
    ``UC_ARM64_REG_CP_REG``). ``values`` is a plain list the caller fills or reads.
    """

    def __init__(self, uch: ctypes.c_void_p, regs: list[int | SysReg]):
        self._uch = uch
        n = len(regs)
        self._n = n
        self._ids = (ctypes.c_int * n)()
        self._u64 = (ctypes.c_uint64 * n)()
        self._ptrs = (ctypes.c_void_p * n)()
        self._cps: dict[int, CpRegBuf] = {}
        base = ctypes.addressof(self._u64)
        for i, reg in enumerate(regs):
            if isinstance(reg, SysReg):
                cp = CpRegBuf(reg.crn, reg.crm, reg.op0, reg.op1, reg.op2, 0)
                self._cps[i] = cp
                self._ids[i] = UC_ARM64_REG_CP_REG
                self._ptrs[i] = ctypes.addressof(cp)
            else:
                self._ids[i] = reg
                self._ptrs[i] = base + 8 * i
        self._cp_items = tuple(self._cps.items())
        # Our own prototypes over the same C functions, taking plain addresses: ctypes then has
        # nothing to convert per call.
        self._read = _BATCH_FN(ctypes.cast(uclib.uc_reg_read_batch, ctypes.c_void_p).value)
        self._write = _BATCH_FN(ctypes.cast(uclib.uc_reg_write_batch, ctypes.c_void_p).value)
        self._args = (uch.value, ctypes.addressof(self._ids), ctypes.addressof(self._ptrs), n)

    def read(self) -> list[int]:
        err = self._read(*self._args)
        if err:
            raise RuntimeError(f"uc_reg_read_batch failed ({err})")
        vals = self._u64[:]
        for i, cp in self._cp_items:
            vals[i] = cp.val
        return vals

    def write(self, values: list[int]) -> None:
        self._u64[:] = values
        for i, cp in self._cp_items:
            cp.val = values[i]
        err = self._write(*self._args)
        if err:
            raise RuntimeError(f"uc_reg_write_batch failed ({err})")


_READ_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)


class RegReader:
    """One register read with one C call and nothing converted per call: the run loop reads
    the PC and PSTATE after every stop, where the binding's ``reg_read`` costs microseconds."""

    def __init__(self, uch: ctypes.c_void_p, reg: int):
        self._buf = ctypes.c_uint64()
        self._fn = _READ_FN(ctypes.cast(uclib.uc_reg_read, ctypes.c_void_p).value)
        self._args = (uch.value, reg, ctypes.addressof(self._buf))

    def read(self) -> int:
        if self._fn(*self._args):
            raise RuntimeError("uc_reg_read failed")
        return self._buf.value

