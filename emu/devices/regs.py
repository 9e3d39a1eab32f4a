"""Registers declared as data: the framework under every MMIO device model.

A device lists its registers once, in a ``RegisterMap`` of ``Reg`` declarations (name,
offset, width, reset value, access mode, fields, handlers), the way Renode's
``DefineRegister(...).WithFlag(...)`` and QEMU's ``REG32``/``FIELD`` do. The framework then
does offset decode (arrays included), access modes, reset values and the storage that a
snapshot saves; ``MmioDevice`` (base.py) adds size and alignment checks, logging and trace.

Access modes, i.e. what a guest access does when no handler takes over:

    RW    a read returns the stored value; a write replaces the bits in ``mask``
    RO    a write is a guest error and is ignored
    WO    a write stores; a read is a guest error and returns 0
    W1C   a read returns the value; writing 1 to a bit clears it, 0 leaves it
    W1S   a read returns the value; writing 1 to a bit sets it, 0 leaves it
    RC    a read returns the value and then clears it; a write is a guest error

Modes are flags (``Access.READ | WRITE | SET | CLEAR | READ_CLEAR``) and combine: the PL011's
write-only interrupt clear register UARTICR is ``Access.CLEAR``.

Handlers are a method name on the device (str) or a function called like a method,
``fn(device, ...)``. Handlers of an array register (count > 1) get the element index first.

    on_read([index]) -> int     supplies the value instead of the storage (read-to-clear
                                still clears the storage afterwards)
    on_write([index,] value)    replaces the store; ``value`` is the guest's data masked by
                                ``mask``, already shifted and merged for a narrow access
    on_change()                 after a guest write (or a read-to-clear read) changed the
                                stored value, of the register or of its ``target``:
                                recompute derived state, typically ``_update_irq``

``target`` makes a register an alias with its own access mode over another register's
storage, e.g. GICD_ICENABLERn (W1C) over GICD_ISENABLERn (W1S), or UARTICR over UARTRIS.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Sequence, Union

Handler = Union[str, Callable, None]


class Access(enum.IntFlag):
    READ = 1  # a read returns the value
    WRITE = 2  # a write stores the masked value
    SET = 4  # a write sets the bits written as 1
    CLEAR = 8  # a write clears the bits written as 1
    READ_CLEAR = 16  # a read clears the value afterwards

    @property
    def writable(self) -> bool:
        return bool(self & (Access.WRITE | Access.SET | Access.CLEAR))


RO = Access.READ
WO = Access.WRITE
RW = Access.READ | Access.WRITE
W1C = Access.READ | Access.CLEAR
W1S = Access.READ | Access.SET
RC = Access.READ | Access.READ_CLEAR


@dataclass(frozen=True)
class Field:
    """A named bit field of a register: ``width`` bits from bit ``lsb``."""

    name: str
    lsb: int
    width: int = 1

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb

    def get(self, value: int) -> int:
        return (value >> self.lsb) & ((1 << self.width) - 1)

    def put(self, value: int, field_value: int) -> int:
        """``value`` with this field replaced by ``field_value``."""
        return (value & ~self.mask) | ((field_value << self.lsb) & self.mask)


def flags(*names: str | None) -> tuple[Field, ...]:
    """One-bit fields named from bit 0 upwards; ``None`` skips a reserved bit."""
    return tuple(Field(n, i) for i, n in enumerate(names) if n is not None)


@dataclass(frozen=True)
class Reg:
    """One register, or an array of ``count`` registers ``stride`` bytes apart.

    ``mask`` is the set of bits a guest write can change (default: all ``width`` bits);
    other bits keep their value, which is how reserved and read-only bits stay put.
    ``reset`` is one value, or one value per element for an array. ``sizes`` are the
    access sizes in bytes the guest may use (default: the map's default, else the register's
    width only); a narrower access reads or merges the addressed bytes.
    ``unimplemented`` marks a register we know but do not model: it behaves as plain
    storage and the first access is logged as unimplemented.
    """

    name: str
    offset: int
    width: int = 32
    reset: int | Sequence[int] = 0
    access: Access = RW
    mask: int | None = None
    fields: tuple[Field, ...] = ()
    count: int = 1
    stride: int | None = None
    sizes: tuple[int, ...] | None = None
    target: str | None = None
    on_read: Handler = None
    on_write: Handler = None
    on_change: Handler = None
    unimplemented: bool = False
    doc: str = field(default="", compare=False)
    # Derived in __post_init__ (plain attributes: the MMIO path reads them on every access).
    nbytes: int = field(init=False, repr=False, compare=False)
    is_array: bool = field(init=False, repr=False, compare=False)
    storage: str = field(init=False, repr=False, compare=False)
    """The name of the register whose value this one reads and writes (``target`` or self)."""

    def __post_init__(self) -> None:
        if self.width not in (8, 16, 32, 64):
            raise ValueError(f"{self.name}: width {self.width} is not 8, 16, 32 or 64")
        if self.count < 1:
            raise ValueError(f"{self.name}: count must be at least 1")
        full = (1 << self.width) - 1
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "nbytes", self.width // 8)
        set_(self, "is_array", self.count > 1)
        set_(self, "storage", self.target or self.name)
        set_(self, "mask", full if self.mask is None else self.mask & full)
        set_(self, "stride", self.nbytes if self.stride is None else self.stride)
        if self.stride < self.nbytes:
            raise ValueError(f"{self.name}: stride {self.stride} is narrower than the register")
        if isinstance(self.reset, int):
            resets = (self.reset & full,) * self.count
        else:
            resets = tuple(v & full for v in self.reset)
            if len(resets) != self.count:
                raise ValueError(f"{self.name}: {len(resets)} reset values, {self.count} registers")
        set_(self, "reset", resets)
        set_(self, "fields", tuple(self.fields))
        if self.sizes is not None:
            set_(self, "sizes", tuple(sorted(self.sizes)))
            for s in self.sizes:
                if s not in (1, 2, 4, 8) or s > self.nbytes:
                    raise ValueError(f"{self.name}: access size {s} does not fit the register")

    def label(self, index: int) -> str:
        """The spec's name of one element: ``ISENABLER3`` for an array, else the name."""
        return f"{self.name}{index}" if self.is_array else self.name

    def element_offset(self, index: int) -> int:
        return self.offset + index * self.stride

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name}")

    def describe(self, value: int) -> str:
        """``value`` spelt out by fields, for traces: ``FEN=1 WLEN=3``."""
        if not self.fields:
            return f"{value:#x}"
        return " ".join(f"{f.name}={f.get(value):#x}" if f.width > 1 else f"{f.name}={f.get(value)}"
                        for f in self.fields)


class RegisterMap:
    """The register declarations of one device class, with offset decode.

    ``sizes`` is the default set of allowed access sizes for registers that do not declare
    their own (the PL011, for one, accepts byte, halfword and word accesses everywhere).
    Overlapping declarations, duplicate names and dangling targets are model bugs and raise
    ValueError when the class is defined.
    """

    def __init__(self, *regs: Reg, sizes: Iterable[int] | None = None):
        default = tuple(sorted(sizes)) if sizes is not None else None
        resolved = []
        for r in regs:
            if r.sizes is None:
                fit = tuple(s for s in default if s <= r.nbytes) if default else (r.nbytes,)
                r = replace(r, sizes=fit)
            resolved.append(r)
        self.regs: tuple[Reg, ...] = tuple(resolved)
        self.by_name: dict[str, Reg] = {}
        # element start offset -> (reg, index); decode walks back at most 7 bytes from it
        self._elements: dict[int, tuple[Reg, int]] = {}
        for r in self.regs:
            if r.name in self.by_name:
                raise ValueError(f"register {r.name} declared twice")
            self.by_name[r.name] = r
            for i in range(r.count):
                self._elements[r.element_offset(i)] = (r, i)
        self._check_overlaps()
        for r in self.regs:
            if r.target is None:
                continue
            t = self.by_name.get(r.target)
            if t is None or t.target is not None or t.count != r.count or t.width != r.width:
                raise ValueError(f"{r.name}: target {r.target} must be a plain register "
                                 "of the same width and count")
        self._max_nbytes = max((r.nbytes for r in self.regs), default=1)

    def _check_overlaps(self) -> None:
        spans = sorted((off, off + reg.nbytes, reg.label(i))
                       for off, (reg, i) in self._elements.items())
        for (s0, e0, n0), (s1, _, n1) in zip(spans, spans[1:]):
            if s1 < e0:
                raise ValueError(f"registers {n0} and {n1} overlap at {s1:#x}")
        if len(spans) != sum(r.count for r in self.regs):
            raise ValueError("two registers start at the same offset")

    def __getitem__(self, name: str) -> Reg:
        return self.by_name[name]

    def __iter__(self):
        return iter(self.regs)

    def __len__(self) -> int:
        return len(self.regs)

    def decode(self, offset: int) -> tuple[Reg, int, int] | None:
        """``(reg, index, byte offset inside the register)`` for a byte offset, or None."""
        elements = self._elements
        hit = elements.get(offset)
        if hit is not None:
            return hit[0], hit[1], 0
        for back in range(1, self._max_nbytes):
            hit = elements.get(offset - back)
            if hit is not None:
                return (hit[0], hit[1], back) if back < hit[0].nbytes else None
        return None

    def reset_values(self) -> dict[str, int | list[int]]:
        """Fresh storage: the reset value of every register that has storage of its own."""
        return {r.name: (list(r.reset) if r.is_array else r.reset[0])
                for r in self.regs if r.target is None}


class RegisterFile:
    """The per-device storage for a RegisterMap; what a snapshot of the registers saves.

    ``regs["IMSC"]`` is a scalar register's value, ``regs["ISENABLER", 3]`` one element of an
    array, and ``regs["ISENABLER"]`` the array's list itself. Device code writes here
    directly (no masks, no access modes: those apply to the guest only).
    """

    def __init__(self, regmap: RegisterMap):
        self.map = regmap
        self._values = regmap.reset_values()

    def __getitem__(self, key: str | tuple[str, int]):
        if isinstance(key, tuple):
            name, index = key
            return self._values[name][index]
        return self._values[key]

    def __setitem__(self, key: str | tuple[str, int], value) -> None:
        if isinstance(key, tuple):
            name, index = key
            self._values[name][index] = value
        elif isinstance(self._values[key], list):
            value = list(value)
            if len(value) != len(self._values[key]):
                raise ValueError(f"{key}: {len(value)} values, {len(self._values[key])} registers")
            self._values[key] = value
        else:
            self._values[key] = value

    def get_field(self, name: str, field_name: str, index: int = 0) -> int:
        reg = self.map[name]
        return reg.field(field_name).get(self.load(reg, index))

    def set_field(self, name: str, field_name: str, value: int, index: int = 0) -> None:
        reg = self.map[name]
        self.store(reg, index, reg.field(field_name).put(self.load(reg, index), value))

    def load(self, reg: Reg, index: int) -> int:
        """The stored value of one element, following ``target``."""
        v = self._values[reg.storage]
        return v[index] if reg.is_array else v

    def store(self, reg: Reg, index: int, value: int) -> None:
        if reg.is_array:
            self._values[reg.storage][index] = value
        else:
            self._values[reg.storage] = value

    def reset(self) -> None:
        self._values = self.map.reset_values()

    def state(self) -> dict[str, int | list[int]]:
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._values.items()}

    def load_state(self, state: dict[str, int | list[int]]) -> None:
        """Restore ``state()`` output. Registers missing from it keep their reset value;
        names this map does not know are ignored (a snapshot from another model version)."""
        fresh = self.map.reset_values()
        for name, reset in fresh.items():
            if name not in state:
                continue
            value = state[name]
            if isinstance(reset, list):
                if not isinstance(value, list) or len(value) != len(reset):
                    raise ValueError(f"snapshot of {name} does not have {len(reset)} elements")
                fresh[name] = [int(v) for v in value]
            else:
                fresh[name] = int(value)
        self._values = fresh
