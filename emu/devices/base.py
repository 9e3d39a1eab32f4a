"""The MMIO device base: register dispatch, size checks, logging, trace, reset, snapshots.

A model subclasses ``MmioDevice``, sets ``SIZE`` (bytes of MMIO it decodes) and ``REGS``
(a RegisterMap, see regs.py), and writes only the behaviour that storage and access modes
cannot express, as small handlers. The machine calls ``read`` and ``write`` from its MMIO
dispatch with an offset relative to the device's base address.

What the base guarantees, whatever the guest does:

- an access to an offset no register decodes is a *guest error*: reads return 0, writes
  are ignored;
- an access whose size the register does not allow (``Reg.sizes``), that is misaligned for
  its size, or that straddles the register's end is a guest error, with the same result;
  an allowed narrower access reads, or merges into, just the bytes it addresses;
- a write to a register without a write mode is a guest error and is ignored, a read of a
  register without the read mode is a guest error and returns 0;
- the first access to a register declared ``unimplemented`` is logged as *unimplemented*;
- nothing here raises on guest behaviour.

Log lines go to the sink given to the constructor (emu/devices/log.py). ``trace``, when the
machine sets it, is called for every access as ``trace(device, op, offset, size, value,
register)`` with op "read" or "write" and register the spec name (None when unknown); a
write is traced before its side effects, a read after (with the value returned).
"""

from __future__ import annotations

import types
from typing import Any, Callable

from .log import GUEST_ERROR, UNIMP, LogSink, logging_sink
from .regs import Access, Handler, Reg, RegisterFile, RegisterMap

TraceHook = Callable[[str, str, int, int, int, "str | None"], None]

_READ = int(Access.READ)
_WRITE = int(Access.WRITE)
_SET = int(Access.SET)
_CLEAR = int(Access.CLEAR)
_READ_CLEAR = int(Access.READ_CLEAR)


class _Bound:
    """One register as a device instance dispatches it: plain ints and bound handlers."""

    __slots__ = ("reg", "access", "sizes", "nbytes", "mask", "is_array",
                 "on_read", "on_write", "on_change")

    def __init__(self, reg: Reg, device: "MmioDevice"):
        self.reg = reg
        self.access = int(reg.access)
        self.sizes = frozenset(reg.sizes)
        self.nbytes = reg.nbytes
        self.mask = reg.mask
        self.is_array = reg.is_array
        self.on_read = _bind(device, reg.on_read)
        self.on_write = _bind(device, reg.on_write)
        self.on_change = _bind(device, reg.on_change)


def _bind(device: "MmioDevice", handler: Handler) -> Callable | None:
    if handler is None:
        return None
    if isinstance(handler, str):
        return getattr(device, handler)  # a typo fails when the device is built, not later
    return types.MethodType(handler, device)


class MmioDevice:
    """Base of every memory-mapped device model."""

    SIZE: int = 0x1000
    REGS: RegisterMap = RegisterMap()

    def __init__(self, log: LogSink | None = None, name: str | None = None):
        self.name = name or type(self).__name__.lower()
        self.log: LogSink = log or logging_sink
        self.trace: TraceHook | None = None
        self.regs = RegisterFile(self.REGS)
        self._bound = {r.name: _Bound(r, self) for r in self.REGS}
        self._logged_once: set[str] = set()

    # --- logging -----------------------------------------------------------------------

    def guest_error(self, message: str, once: str | None = None) -> None:
        """Report something the spec calls wrong. With ``once``, only the first time that
        key is seen (for conditions a guest may repeat on every access)."""
        if once is not None:
            if once in self._logged_once:
                return
            self._logged_once.add(once)
        self.log(GUEST_ERROR, self.name, message)

    def unimp(self, message: str, once: str | None = None) -> None:
        """Report a feature we know but do not model."""
        if once is not None:
            if once in self._logged_once:
                return
            self._logged_once.add(once)
        self.log(UNIMP, self.name, message)

    # --- guest accesses ----------------------------------------------------------------

    def read(self, offset: int, size: int) -> int:
        hit = self.REGS.decode(offset)
        if hit is None:
            self.guest_error(f"read of unknown offset {offset:#x} (size {size})")
            value, label = 0, None
        else:
            reg, index, byte = hit
            label = reg.label(index)
            value = self._read_reg(self._bound[reg.name], index, byte, size, label)
        if self.trace is not None:
            self.trace(self.name, "read", offset, size, value, label)
        return value

    def write(self, offset: int, size: int, value: int) -> None:
        value &= (1 << (8 * size)) - 1
        hit = self.REGS.decode(offset)
        label = None if hit is None else hit[0].label(hit[1])
        if self.trace is not None:
            self.trace(self.name, "write", offset, size, value, label)
        if hit is None:
            self.guest_error(f"write of {value:#x} to unknown offset {offset:#x} (size {size})")
            return
        reg, index, byte = hit
        self._write_reg(self._bound[reg.name], index, byte, size, value, label)

    def _access_ok(self, b: _Bound, byte: int, size: int, label: str, op: str) -> bool:
        if size in b.sizes and byte % size == 0 and byte + size <= b.nbytes:
            return True
        where = f"{label}+{byte}" if byte else label
        self.guest_error(f"{op} of {where} with size {size} (allowed: {sorted(b.sizes)}, aligned)")
        return False

    def _read_reg(self, b: _Bound, index: int, byte: int, size: int, label: str) -> int:
        if not self._access_ok(b, byte, size, label, "read"):
            return 0
        if not b.access & _READ:
            self.guest_error(f"read of write-only register {label}")
            return 0
        if b.reg.unimplemented:
            self.unimp(f"register {b.reg.name} is not modelled (read)", once=b.reg.name)
        if b.on_read is not None:
            full = b.on_read(index) if b.is_array else b.on_read()
        else:
            full = self.regs.load(b.reg, index)
        if b.access & _READ_CLEAR:
            old = self.regs.load(b.reg, index)
            self.regs.store(b.reg, index, 0)
            if old and b.on_change is not None:
                b.on_change()
        if size == b.nbytes:
            return full
        return (full >> (8 * byte)) & ((1 << (8 * size)) - 1)

    def _write_reg(self, b: _Bound, index: int, byte: int, size: int, value: int,
                   label: str) -> None:
        if not self._access_ok(b, byte, size, label, "write"):
            return
        access = b.access
        if not access & (_WRITE | _SET | _CLEAR):
            self.guest_error(f"write of {value:#x} to read-only register {label}")
            return
        if b.reg.unimplemented:
            self.unimp(f"register {b.reg.name} is not modelled (write {value:#x})", once=b.reg.name)
        regs = self.regs
        old = regs.load(b.reg, index)
        data = value << (8 * byte)
        if access & _WRITE and size < b.nbytes:
            lanes = ((1 << (8 * size)) - 1) << (8 * byte)
            data |= old & ~lanes
        data &= b.mask
        if b.on_write is not None:
            if b.is_array:
                b.on_write(index, data)
            else:
                b.on_write(data)
        elif access & _WRITE:
            regs.store(b.reg, index, (old & ~b.mask) | data)
        elif access & _SET:
            regs.store(b.reg, index, old | data)
        else:
            regs.store(b.reg, index, old & ~data)
        if b.on_change is not None and regs.load(b.reg, index) != old:
            b.on_change()

    # --- life cycle --------------------------------------------------------------------

    def reset(self) -> None:
        """Registers to their reset values. Models with more state extend this (and
        recompute their outputs)."""
        self.regs.reset()

    def state(self) -> dict[str, Any]:
        """Everything a snapshot must keep, as plain JSON-able data. Models with more
        state extend the dict."""
        return {"regs": self.regs.state()}

    def from_state(self, state: dict[str, Any]) -> None:
        """Restore ``state()`` output into this (already wired) device."""
        self.regs.load_state(state.get("regs", {}))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
