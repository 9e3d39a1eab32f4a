"""Snapshots: a machine's explicit state in a file, restorable into a fresh machine.

A snapshot holds what the architecture and our models define, never a Unicorn object (a raw
``UcContext`` holds process-local pointers): the general-purpose, FP/SIMD and system
registers of every exception level, PSTATE and the banked stack pointers, the contents of RAM
(only chunks that are not all zero, compressed), each device's ``state()``, the generic
timers and virtual time (the counter and the retired-instruction count).

Format (version 2)::

    "EMUSNAP1"  u32 header length  JSON header
    RAM chunks: u64 address, u32 length, zlib data    (ascending, 64 KiB of RAM each)
    "EMUSEND\\0"  u64 number of chunks  u32 CRC-32 of every byte before this trailer

A snapshot file is input like any other: it may be truncated, damaged or written to attack
the emulator. Restoring refuses, with one line, before it changes anything but the fresh
machine's RAM: a file that is not a regular file (a FIFO or ``/dev/zero`` could be read
forever), larger than a snapshot of this machine's RAM can be (:func:`max_file_size`), with a
header over :data:`MAX_HEADER` bytes, without its trailer or with a wrong checksum, a header
whose every value is not of the type, range and size this machine's own state has (the CPU
registers it reads, its devices' ``state()``, its GIC's, its timers'), chunks that are not
ascending, aligned, inside RAM, or that do not inflate to exactly their 64 KiB.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
import stat
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from unicorn import UcError

from .cpu.clock import INSNS_PER_TICK, MODES
from .cpu.core import Cpu
from .devices.pl011 import RX_QUEUE_MAX
from .errors import EmuError

if TYPE_CHECKING:
    from .machine import Machine

MAGIC = b"EMUSNAP1"
END = b"EMUSEND\0"
VERSION = 2
CHUNK = 64 * 1024
MAX_HEADER = 16 << 20      # bytes of JSON header: registers, device state, symbols, tenants
MAX_COUNT = 1 << 56        # retired instructions and counter ticks (about 2 years at 1 GHz)
MAX_TENANTS = 256
MAX_LIST = 4096            # a variable-length list in device state (a FIFO's contents)
MAX_STR = 4096             # a string in the header, unless _LONG_STRINGS says otherwise
# Strings in device state that may be longer, by key: the PL011's host input queue
# (pl011.py, state()), base64 of at most RX_QUEUE_MAX bytes. The header bound still applies:
# a snapshot holds about 11 MiB of queued input at most, and saving says so.
_LONG_STRINGS = {"rx_queue": 4 * -(-RX_QUEUE_MAX // 3)}

_LENGTH = struct.Struct("<I")
_CHUNK_HEAD = struct.Struct("<QI")
_TRAILER = struct.Struct("<8sQI")

class SnapshotError(EmuError):
    pass


class _Invalid(Exception):
    """A value in the header that this machine cannot take; ``where`` is its path."""

    def __init__(self, where: str, what: str):
        super().__init__(f"{where}: {what}")


def _zlib_bound(n: int) -> int:
    """The most zlib.compress can make of ``n`` bytes (zlib's compressBound)."""
    return n + (n >> 12) + (n >> 14) + (n >> 25) + 13


def max_file_size(ram_size: int) -> int:
    """The largest snapshot of a machine with ``ram_size`` bytes of RAM: a full header and every
    chunk present and incompressible. Restore reads no more than this."""
    chunks = -(-ram_size // CHUNK)
    return (len(MAGIC) + _LENGTH.size + MAX_HEADER + chunks * (_CHUNK_HEAD.size + _zlib_bound(CHUNK))
            + _TRAILER.size)


# -- saving ---------------------------------------------------------------------------------

def _cpu_state(m: "Machine") -> dict:
    return m.cpu.state()


def _device_states(m: "Machine") -> dict[str, Any]:
    return {name: dev.state() for name, dev in m.mmio_devices()
            if hasattr(dev, "state") and not name.startswith("gic.")}


def _header(m: "Machine") -> dict:
    return {
        "version": VERSION,
        "board": m.board.name,
        "ram": {"base": m.board.ram.base, "size": m.board.ram.size},
        "cpu": [_cpu_state(m)],
        "devices": _device_states(m),
        "gic": m.gic.state() if m.gic is not None else None,
        "timer": m.timer.state(),
        "time": {"mode": m.clock.mode, "counter": m.clock.now(),
                 # One core: the count the clock follows. Several: each core's, under "smp".
                 "retired": m.icount.retired if len(m.cores) == 1 else None},
        "cpu_lines": dict(m.cpu.lines),
        "entry": m.entry,
        "symbols": m.symbols_dict(),
        "tenants": [dataclasses.asdict(t) if dataclasses.is_dataclass(t) else t for t in m.tenants],
    } | ({"smp": _smp_state(m)} if len(m.cores) > 1 else {})


def _core_state(core) -> dict:
    return {"cpu": core.cpu.state(), "timer": core.timer.state(), "lines": dict(core.cpu.lines),
            "retired": core.icount.retired, "powered": core.powered, "waiting": core.waiting,
            "turn_end": core.turn_end}


def _smp_state(m: "Machine") -> dict:
    """Every core of a machine with several: the top-level cpu, timer and lines are the
    current core's (the one the clock counts), as on a machine with one."""
    return {"current": m.core.index, "cores": [_core_state(c) for c in m.cores]}


def _write(m: "Machine", f: BinaryIO) -> None:
    blob = json.dumps(_header(m), sort_keys=True).encode()
    if len(blob) > MAX_HEADER:
        raise SnapshotError(f"snapshot header of {len(blob)} bytes is over the {MAX_HEADER} a restore takes")
    crc = 0
    chunks = 0

    def put(data: bytes) -> None:
        nonlocal crc
        crc = zlib.crc32(data, crc)
        f.write(data)

    put(MAGIC + _LENGTH.pack(len(blob)) + blob)
    ram = m.ram_view()
    zero = bytes(CHUNK)
    base = m.board.ram.base
    for off in range(0, len(ram), CHUNK):
        chunk = ram[off:off + CHUNK]
        if chunk != zero[:len(chunk)]:
            z = zlib.compress(bytes(chunk), 1)
            put(_CHUNK_HEAD.pack(base + off, len(z)) + z)
            chunks += 1
    f.write(_TRAILER.pack(END, chunks, crc))


def save(m: "Machine", dest: str | os.PathLike | BinaryIO) -> None:
    """Write ``m``'s state to ``dest``, a path or a binary stream. Call between runs (run()
    returned, e.g. paused). A path is written whole or not at all: into a new file beside it
    that then replaces it, so a failed save leaves an earlier snapshot there intact."""
    if hasattr(dest, "write"):
        _write(m, dest)
        return
    path = Path(dest)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        f = open(tmp, "xb")   # exclusive: never through a file or link someone left there
    except OSError as err:
        raise SnapshotError(f"{path}: cannot write the snapshot: {err.strerror}") from None
    try:
        with f:
            _write(m, f)
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise SnapshotError(f"{path}: cannot write the snapshot: {err.strerror}") from None
        raise


# -- validating -----------------------------------------------------------------------------

def _kind(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true/false"
    return {int: "an integer", float: "a fractional number", str: "a string", list: "a list",
            dict: "an object"}.get(type(v), type(v).__name__)


def _show(v: object) -> str:
    """A short, safe rendering of a value from the file (it may be nested thousands deep)."""
    if type(v) is str:
        return repr(v[:40])
    if type(v) is dict and all(type(x) is int for x in v.values()):
        return "{" + ", ".join(f"{str(k)[:20]!r}: {x:#x}" for k, x in list(v.items())[:4]) + "}"
    return _kind(v)


def _uint(v: object, where: str, bits: int = 64, limit: int | None = None) -> int:
    if type(v) is not int:
        raise _Invalid(where, f"expected an unsigned integer, found {_kind(v)}")
    top = (1 << bits) if limit is None else limit
    if not 0 <= v < top:
        raise _Invalid(where, f"{v} is out of range (0 to {top - 1:#x})")
    return v


def _str(v: object, where: str, max_len: int = MAX_STR) -> str:
    if type(v) is not str:
        raise _Invalid(where, f"expected a string, found {_kind(v)}")
    if len(v) > max_len:
        raise _Invalid(where, f"a string of {len(v)} characters (at most {max_len})")
    return v


def _obj(v: object, where: str, keys) -> dict:
    """An object with exactly ``keys``: a missing section or an unknown name is an error."""
    if type(v) is not dict:
        raise _Invalid(where, f"expected an object, found {_kind(v)}")
    want = set(keys)
    missing, extra = want - v.keys(), v.keys() - want
    if missing:
        raise _Invalid(where, f"missing {', '.join(sorted(missing))}")
    if extra:
        raise _Invalid(where, f"unexpected {', '.join(sorted(map(str, extra)))[:200]}")
    return v


def _like(v: object, template: object, where: str, wide: dict[str, int] | None = None, bits: int = 64,
          max_len: int = MAX_STR) -> None:
    """Check ``v`` has the shape of ``template``, this machine's own state for the same thing:
    the same keys, list lengths and types, unsigned integers that fit ``bits`` (wider under a
    key named in ``wide``), strings of at most ``max_len`` characters (longer under a key of
    _LONG_STRINGS), true/false where it has them. An empty list in the template is a
    variable-length list of integers (a FIFO). Recursion follows the template, never ``v``."""
    if isinstance(template, bool):
        if type(v) is not bool:
            raise _Invalid(where, f"expected true/false, found {_kind(v)}")
    elif isinstance(template, int):
        _uint(v, where, bits)
    elif isinstance(template, str):
        _str(v, where, max_len)
    elif template is None:
        if v is not None:
            raise _Invalid(where, f"expected null, found {_kind(v)}")
    elif isinstance(template, dict):
        _obj(v, where, template.keys())
        for k, t in template.items():
            _like(v[k], t, f"{where}.{k}", wide, (wide or {}).get(k, bits), _LONG_STRINGS.get(k, max_len))
    elif isinstance(template, list):
        if type(v) is not list:
            raise _Invalid(where, f"expected a list, found {_kind(v)}")
        if not template:
            if len(v) > MAX_LIST:
                raise _Invalid(where, f"{len(v)} entries (at most {MAX_LIST})")
            for i, x in enumerate(v):
                _uint(x, f"{where}[{i}]", bits)
            return
        if len(v) != len(template):
            raise _Invalid(where, f"{len(v)} entries, this machine has {len(template)}")
        for i, (x, t) in enumerate(zip(v, template)):
            _like(x, t, f"{where}[{i}]", wide, bits)
    else:  # pragma: no cover - state() returns JSON types only
        raise _Invalid(where, f"cannot check {_kind(template)}")


def _base64(v: str, where: str) -> None:
    """A string ``_like`` has already bounded must also be base64 (a PL011 host queue)."""
    try:
        base64.b64decode(v, validate=True)
    except binascii.Error as err:
        raise _Invalid(where, f"not base64 ({err})") from None


def _symbols(v: object, where: str) -> dict[str, int]:
    if type(v) is not dict:
        raise _Invalid(where, f"expected an object, found {_kind(v)}")
    for name, addr in v.items():
        _str(name, f"{where} key")
        _uint(addr, f"{where}.{name[:40]}")
    return v


@dataclass(frozen=True)
class TimeState:
    mode: str
    counter: int
    retired: int | None

    @classmethod
    def from_json(cls, v: object, where: str = "time") -> "TimeState":
        _obj(v, where, ("mode", "counter", "retired"))
        if v["mode"] not in MODES:
            raise _Invalid(f"{where}.mode", f"{_str(v['mode'], where + '.mode', 40)!r} is not one of {', '.join(MODES)}")
        counter = _uint(v["counter"], f"{where}.counter", limit=MAX_COUNT)
        retired = None if v["retired"] is None else _uint(v["retired"], f"{where}.retired", limit=MAX_COUNT)
        if v["mode"] == "deterministic" and retired is not None and counter < retired // INSNS_PER_TICK:
            raise _Invalid(f"{where}.counter", f"{counter} is behind the {retired} instructions retired")
        return cls(v["mode"], counter, retired)


def _tenant(v: object, where: str):
    from .loader.placements import TenantPlacement

    _obj(v, where, [f.name for f in dataclasses.fields(TenantPlacement)])
    irqs = v["irqs"]
    if type(irqs) is not list or len(irqs) > 1020:
        raise _Invalid(f"{where}.irqs", f"expected a list of at most 1020 INTIDs, found {_kind(irqs)}")
    return TenantPlacement(
        name=_str(v["name"], f"{where}.name", 256), index=_uint(v["index"], f"{where}.index", 32),
        ipa=_uint(v["ipa"], f"{where}.ipa"), pa=_uint(v["pa"], f"{where}.pa"),
        size=_uint(v["size"], f"{where}.size"), entry=_uint(v["entry"], f"{where}.entry"),
        symbols=_symbols(v["symbols"], f"{where}.symbols"), image=_str(v["image"], f"{where}.image"),
        irqs=tuple(_uint(x, f"{where}.irqs[{i}]", limit=1020) for i, x in enumerate(irqs)))


@dataclass(frozen=True)
class Header:
    """A snapshot header checked against the machine it is restored into: every value has the
    type, range and size that machine's own state has, and nothing is there that it lacks."""

    cpu: dict
    devices: dict[str, dict]
    gic: dict | None
    timer: dict
    time: TimeState
    lines: dict[str, bool]
    entry: int | None
    symbols: dict[str, int]
    tenants: list

    smp: dict | None = None

    KEYS = ("version", "board", "ram", "cpu", "devices", "gic", "timer", "time", "cpu_lines",
            "entry", "symbols", "tenants")

    @classmethod
    def from_json(cls, h: object, m: "Machine") -> "Header":
        _obj(h, "header", cls.KEYS + (("smp",) if len(m.cores) > 1 else ()))
        ram = {"base": m.board.ram.base, "size": m.board.ram.size}
        if h["board"] != m.board.name or h["ram"] != ram:
            raise _Invalid("board", f"taken on board {_show(h['board'])} with RAM {_show(h['ram'])}, "
                           f"not on this machine ({m.board.name!r} with RAM {ram})")
        cpus = h["cpu"]
        if type(cpus) is not list or len(cpus) != 1:
            raise _Invalid("cpu", f"expected a list of 1 core, found {_kind(cpus)}"
                           + (f" of {len(cpus)}" if type(cpus) is list else ""))
        _like(cpus[0], _cpu_state(m), "cpu[0]", {"q": 128})
        own_devices = _device_states(m)
        _like(h["devices"], own_devices, "devices")
        for name, own in own_devices.items():
            if "rx_queue" in own:
                _base64(h["devices"][name]["rx_queue"], f"devices.{name}.rx_queue")
        if m.gic is None:
            _like(h["gic"], None, "gic")
        else:
            # The distributor's top-level integers are bitmaps over every INTID (gicv2.py).
            own = m.gic.state()
            wide = {k: m.gic.num_irqs for k, v in own["gicd"].items() if type(v) is int}
            _like(h["gic"], own, "gic", wide)
        _like(h["timer"], m.timer.state(), "timer")
        lines = _obj(h["cpu_lines"], "cpu_lines", Cpu.LINES)
        for n, level in lines.items():
            if type(level) is not bool:
                raise _Invalid(f"cpu_lines.{n}", f"expected true/false, found {_kind(level)}")
        tenants = h["tenants"]
        if type(tenants) is not list or len(tenants) > MAX_TENANTS:
            raise _Invalid("tenants", f"expected a list of at most {MAX_TENANTS} tenants, found {_kind(tenants)}")
        smp = _smp(h["smp"], m) if len(m.cores) > 1 else None
        return cls(cpu=cpus[0], devices=h["devices"], gic=h["gic"], timer=h["timer"],
                   time=TimeState.from_json(h["time"]), lines=lines, smp=smp,
                   entry=None if h["entry"] is None else _uint(h["entry"], "entry"),
                   symbols=_symbols(h["symbols"], "symbols"),
                   tenants=[_tenant(t, f"tenants[{i}]") for i, t in enumerate(tenants)])


def _smp(v: object, m: "Machine") -> dict:
    _obj(v, "smp", ("current", "cores"))
    n = len(m.cores)
    _uint(v["current"], "smp.current", limit=n)
    cores = v["cores"]
    if type(cores) is not list or len(cores) != n:
        raise _Invalid("smp.cores", f"expected a list of {n} cores, found {_kind(cores)}"
                       + (f" of {len(cores)}" if type(cores) is list else ""))
    for i, (c, own) in enumerate(zip(cores, m.cores)):
        where = f"smp.cores[{i}]"
        _obj(c, where, ("cpu", "timer", "lines", "retired", "powered", "waiting", "turn_end"))
        _like(c["cpu"], own.cpu.state(), f"{where}.cpu", {"q": 128})
        _like(c["timer"], own.timer.state(), f"{where}.timer")
        _obj(c["lines"], f"{where}.lines", Cpu.LINES)
        for name in Cpu.LINES:
            if type(c["lines"][name]) is not bool:
                raise _Invalid(f"{where}.lines.{name}", f"expected true/false, found {_kind(c['lines'][name])}")
        _uint(c["retired"], f"{where}.retired", limit=MAX_COUNT)
        _uint(c["turn_end"], f"{where}.turn_end", limit=MAX_COUNT + (1 << 40))
        for key in ("powered", "waiting"):
            if type(c[key]) is not bool:
                raise _Invalid(f"{where}.{key}", f"expected true/false, found {_kind(c[key])}")
    if not cores[0]["powered"] and not any(c["powered"] for c in cores):
        raise _Invalid("smp.cores", "no core is on")
    return v


# -- restoring ------------------------------------------------------------------------------

def _check_regular(path: str, fd: int, limit: int) -> None:
    """Refuse (closing ``fd``) anything but a regular file of at most ``limit`` bytes."""
    st = os.fstat(fd)
    why = None
    if not stat.S_ISREG(st.st_mode):
        why = "not a regular file; a snapshot is read from a file"
    elif st.st_size > limit:
        why = f"{st.st_size} bytes, more than a snapshot of this machine's RAM can be ({limit})"
    if why is not None:
        os.close(fd)
        raise SnapshotError(f"{path}: {why}")


def _read_file(path: str, limit: int) -> bytes:
    """The whole file, if it is a regular file of at most ``limit`` bytes."""
    try:
        # Non-blocking: opening a FIFO with no writer must not wait for one.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise SnapshotError(f"{path}: {err.strerror}") from None
    _check_regular(path, fd, limit)
    with open(fd, "rb") as f:
        try:
            data = f.read(limit + 1)
        except OSError as err:
            raise SnapshotError(f"{path}: {err.strerror}") from None
    if len(data) > limit:
        raise SnapshotError(f"{path}: more than {limit} bytes, larger than a snapshot of this machine's RAM can be")
    return data


def _parse(path: str, data: bytes) -> tuple[dict, memoryview, int]:
    """The header, the chunk bytes and the chunk count of a whole, intact snapshot file."""
    if not data.startswith(MAGIC):
        raise SnapshotError(f"{path}: not an emu snapshot (bad magic)")
    start = len(MAGIC) + _LENGTH.size
    if len(data) < start:
        raise SnapshotError(f"{path}: corrupt snapshot header (truncated)")
    (n,) = _LENGTH.unpack_from(data, len(MAGIC))
    if n > MAX_HEADER or start + n > len(data):
        raise SnapshotError(f"{path}: corrupt snapshot header (length {n}, the file has {len(data) - start} "
                            f"bytes after it, at most {MAX_HEADER} are taken)")
    try:
        header = json.loads(data[start:start + n])
    except RecursionError:
        raise SnapshotError(f"{path}: corrupt snapshot header (nested too deeply)") from None
    except ValueError as err:  # includes UnicodeDecodeError and integers of too many digits
        raise SnapshotError(f"{path}: corrupt snapshot header ({str(err)[:100]})") from None
    version = header.get("version") if isinstance(header, dict) else None
    if version != VERSION:
        shown = str(version)[:20] if isinstance(version, (int, str)) and not isinstance(version, bool) else "?"
        raise SnapshotError(f"{path}: snapshot version {shown} is not {VERSION}")
    body_end = len(data) - _TRAILER.size
    if body_end < start + n:
        raise SnapshotError(f"{path}: corrupt snapshot: truncated (no end marker)")
    end, count, crc = _TRAILER.unpack_from(data, body_end)
    if end != END:
        raise SnapshotError(f"{path}: corrupt snapshot: truncated or damaged (no end marker)")
    if zlib.crc32(memoryview(data)[:body_end]) != crc:
        raise SnapshotError(f"{path}: corrupt snapshot: checksum mismatch (damaged)")
    return header, memoryview(data)[start + n:body_end], count


def _chunks(body: memoryview, count: int, base: int, size: int) -> list[tuple[int, memoryview]]:
    """The chunk framing, checked: ascending, CHUNK-aligned addresses inside RAM, lengths that
    stay inside the file and no longer than a chunk can compress to, ``count`` of them."""
    out: list[tuple[int, memoryview]] = []
    pos, last = 0, None
    while pos < len(body):
        if len(body) - pos < _CHUNK_HEAD.size:
            raise _Invalid(f"chunk {len(out)}", "truncated chunk header")
        addr, n = _CHUNK_HEAD.unpack_from(body, pos)
        pos += _CHUNK_HEAD.size
        where = f"chunk {len(out)} at {addr:#x}"
        if not (base <= addr < base + size) or (addr - base) % CHUNK:
            raise _Invalid(where, "not a 64 KiB chunk of RAM")
        if last is not None and addr <= last:
            raise _Invalid(where, "chunks out of order or repeated")
        if n > _zlib_bound(CHUNK) or n > len(body) - pos:
            raise _Invalid(where, f"length {n} runs past the end of the chunks")
        out.append((addr, body[pos:pos + n]))
        pos += n
        last = addr
    if len(out) != count:
        raise _Invalid("chunks", f"{len(out)} chunks, the trailer says {count}")
    return out


def _inflate(addr: int, z: memoryview, want: int) -> bytes:
    d = zlib.decompressobj()
    try:
        data = d.decompress(z, want)
    except zlib.error as err:
        raise _Invalid(f"chunk at {addr:#x}", f"does not inflate ({err})") from None
    if len(data) != want or not d.eof or d.unconsumed_tail or d.unused_data:
        raise _Invalid(f"chunk at {addr:#x}", f"does not inflate to exactly {want} bytes")
    return data


def _restore_cores(m: "Machine", h: Header) -> None:
    """Every core's registers, timers, lines, count and power, then the clock on the current
    core's count at the saved counter value (the top level already loaded core 0 as current)."""
    for core, c in zip(m.cores, h.smp["cores"]):
        core.cpu.from_state(c["cpu"])
        core.timer.from_state(c["timer"])
        core.icount.set_retired(c["retired"])
        for name in Cpu.LINES:
            core.cpu.set_line(name, c["lines"][name])
        core.powered, core.waiting, core.turn_end = c["powered"], c["waiting"], c["turn_end"]
        m.psci.on[core.index] = c["powered"]
    current = m.core = m.cores[h.smp["current"]]
    m.clock.restore_counter(h.time.counter, lambda: current.icount.retired, current.icount.count_address)


def restore(m: "Machine", path: str) -> None:
    """Load a snapshot into a freshly built machine of the same board and RAM size.

    Everything is checked before it is used (see the module docstring); on an error the
    machine's RAM may hold part of the snapshot, so discard the machine."""
    ram_base, ram_size = m.board.ram.base, m.board.ram.size
    data = _read_file(path, max_file_size(ram_size))
    raw, body, count = _parse(path, data)
    try:
        h = Header.from_json(raw, m)
        chunks = _chunks(body, count, ram_base, ram_size)
        for addr, z in chunks:
            m.uc.mem_write(addr, _inflate(addr, z, min(CHUNK, ram_base + ram_size - addr)))
    except _Invalid as err:
        raise SnapshotError(f"{path}: corrupt snapshot: {err}") from None
    try:
        m.cpu.from_state(h.cpu)
        for name, dev in m.mmio_devices():
            if name in h.devices:
                dev.from_state(h.devices[name])
        if h.gic is not None:
            m.gic.from_state(h.gic)
        if h.time.retired is not None:
            m.icount.set_retired(h.time.retired)
        m.clock.skip_to(h.time.counter)
        m.timer.from_state(h.timer)
        for name in Cpu.LINES:
            m.cpu.set_line(name, h.lines[name])
        if h.smp is not None:
            _restore_cores(m, h)
        m.entry = h.entry
        m.restore_symbols(h.symbols, [dataclasses.asdict(t) for t in h.tenants])
        m._started = True
    except (ValueError, UcError) as err:
        # The models' own checks (a GIC's counts, a register array's length) still apply.
        raise SnapshotError(f"{path}: corrupt snapshot ({type(err).__name__}: {err})") from None
