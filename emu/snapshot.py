"""Snapshots: a machine's explicit state in a file, restorable into a fresh machine.

A snapshot holds what the architecture and our models define, never a Unicorn object (a raw
``UcContext`` holds process-local pointers): the general-purpose, FP/SIMD and system
registers of every exception level, PSTATE and the banked stack pointers, the contents of RAM
(only chunks that are not all zero, compressed), each device's ``state()``, the generic
timers and virtual time (the counter and the retired-instruction count).

Format: ``EMUSNAP1``, a little-endian u32 length, a JSON header, then the RAM chunks, each
``u64 address, u32 length`` and zlib data. A file that does not start with the magic, whose
header does not parse, or whose chunks do not inflate or fall outside RAM is refused with a
one-line error.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import TYPE_CHECKING

from unicorn import UcError
from unicorn.arm64_const import (
    UC_ARM64_REG_CP_REG,
    UC_ARM64_REG_FPCR,
    UC_ARM64_REG_FPSR,
    UC_ARM64_REG_PC,
    UC_ARM64_REG_PSTATE,
    UC_ARM64_REG_Q0,
    UC_ARM64_REG_SP,
    UC_ARM64_REG_SP_EL0,
    UC_ARM64_REG_SP_EL1,
    UC_ARM64_REG_SP_EL2,
    UC_ARM64_REG_SP_EL3,
)

from .cpu.gpr import X
from .cpu.sysregs import SYSREGS
from .errors import EmuError

if TYPE_CHECKING:
    from .machine import Machine

MAGIC = b"EMUSNAP1"
VERSION = 1
CHUNK = 64 * 1024

# Registers read from the counter or derived from other state are not restored by writing.
_SKIP_SYSREGS = {"CurrentEL", "MIDR_EL1", "MPIDR_EL1", "ID_AA64PFR0_EL1", "ID_AA64MMFR0_EL1",
                 "SP_EL1", "SP_EL2"}
_SP_BANKS = {"SP_EL0": UC_ARM64_REG_SP_EL0, "SP_EL1": UC_ARM64_REG_SP_EL1,
             "SP_EL2": UC_ARM64_REG_SP_EL2, "SP_EL3": UC_ARM64_REG_SP_EL3}


class SnapshotError(EmuError):
    pass


def _cp(name: str) -> tuple:
    r = SYSREGS[name]
    return (r.crn, r.crm, r.op0, r.op1, r.op2)


def _cpu_state(m: "Machine") -> dict:
    uc = m.uc
    regs = {f"x{i}": uc.reg_read(X[i]) for i in range(31)}
    regs.update(pc=uc.reg_read(UC_ARM64_REG_PC), sp=uc.reg_read(UC_ARM64_REG_SP),
                pstate=uc.reg_read(UC_ARM64_REG_PSTATE), fpcr=uc.reg_read(UC_ARM64_REG_FPCR),
                fpsr=uc.reg_read(UC_ARM64_REG_FPSR))
    regs["q"] = [uc.reg_read(UC_ARM64_REG_Q0 + i) for i in range(32)]
    regs["sp_banks"] = {n: uc.reg_read(r) for n, r in _SP_BANKS.items()}
    sysregs = {}
    for name in SYSREGS:
        if name in _SKIP_SYSREGS or name.startswith("CNT"):
            continue
        try:
            sysregs[name] = uc.reg_read(UC_ARM64_REG_CP_REG, _cp(name))
        except UcError:
            pass
    regs["sysregs"] = sysregs
    return regs


def _restore_cpu(m: "Machine", regs: dict) -> None:
    uc = m.uc
    for name, value in regs["sysregs"].items():
        if name in SYSREGS:
            try:
                uc.reg_write(UC_ARM64_REG_CP_REG, _cp(name) + (value,))
            except UcError:
                pass
    for i in range(31):
        uc.reg_write(X[i], regs[f"x{i}"])
    for i, q in enumerate(regs["q"]):
        uc.reg_write(UC_ARM64_REG_Q0 + i, q)
    uc.reg_write(UC_ARM64_REG_FPCR, regs["fpcr"])
    uc.reg_write(UC_ARM64_REG_FPSR, regs["fpsr"])
    # PSTATE first, then a system-register write so QEMU recomputes its cached EL; then the
    # banked stack pointers and the live one, which depends on the EL and PSTATE.SP.
    uc.reg_write(UC_ARM64_REG_PSTATE, regs["pstate"])
    scr = _cp("SCR_EL3")
    uc.reg_write(UC_ARM64_REG_CP_REG, scr + (regs["sysregs"].get("SCR_EL3", 0x501),))
    for n, r in _SP_BANKS.items():
        uc.reg_write(r, regs["sp_banks"][n])
    uc.reg_write(UC_ARM64_REG_SP, regs["sp"])
    uc.reg_write(UC_ARM64_REG_PC, regs["pc"])


def save(m: "Machine", path: str) -> None:
    """Write ``m``'s state to ``path``. Call between runs (run() returned, e.g. paused)."""
    header = {
        "version": VERSION,
        "board": m.board.name,
        "ram": {"base": m.board.ram.base, "size": m.board.ram.size},
        "cpu": [_cpu_state(m)],
        "devices": {name: dev.state() for name, dev in m.mmio_devices() if hasattr(dev, "state")
                    and not name.startswith("gic.")},
        "gic": m.gic.state() if m.gic is not None else None,
        "timer": m.timer.state(),
        "time": {"mode": m.clock.mode, "counter": m.clock.now(),
                 "retired": m.icount.retired if m.icount is not None else None},
        "cpu_lines": {n: getattr(m.cpu, n) for n in ("_irq_line", "_fiq_line", "_virq_line", "_vfiq_line")},
        "entry": m.entry,
        "symbols": m.symbols_dict(),
        "tenants": [t.__dict__ if hasattr(t, "__dict__") else t for t in m.tenants],
    }
    blob = json.dumps(header, sort_keys=True).encode()
    ram = m.ram_view()
    zero = bytes(CHUNK)
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(blob)) + blob)
        base = m.board.ram.base
        for off in range(0, len(ram), CHUNK):
            chunk = ram[off:off + CHUNK]
            if chunk != zero[:len(chunk)]:
                z = zlib.compress(bytes(chunk), 1)
                f.write(struct.pack("<QI", base + off, len(z)) + z)


def read_header(path: str) -> tuple[dict, bytes]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise SnapshotError(f"{path}: {err.strerror}") from None
    if not data.startswith(MAGIC):
        raise SnapshotError(f"{path}: not an emu snapshot (bad magic)")
    try:
        (n,) = struct.unpack_from("<I", data, len(MAGIC))
        header = json.loads(data[len(MAGIC) + 4:len(MAGIC) + 4 + n])
    except (struct.error, ValueError):
        raise SnapshotError(f"{path}: corrupt snapshot header") from None
    if not isinstance(header, dict) or header.get("version") != VERSION:
        raise SnapshotError(f"{path}: snapshot version {header.get('version') if isinstance(header, dict) else '?'} "
                            f"is not {VERSION}")
    return header, data[len(MAGIC) + 4 + n:]


def restore(m: "Machine", path: str) -> None:
    """Load a snapshot into a freshly built machine of the same board."""
    header, body = read_header(path)
    try:
        if header["board"] != m.board.name or header["ram"] != {"base": m.board.ram.base, "size": m.board.ram.size}:
            raise SnapshotError(f"{path}: taken on board {header['board']} with RAM {header['ram']}, "
                                f"not this machine's")
        ram_base, ram_size = m.board.ram.base, m.board.ram.size
        pos = 0
        while pos < len(body):
            addr, n = struct.unpack_from("<QI", body, pos)
            pos += 12
            chunk = zlib.decompress(body[pos:pos + n])
            pos += n
            if not (ram_base <= addr and addr + len(chunk) <= ram_base + ram_size):
                raise SnapshotError(f"{path}: memory chunk at {addr:#x} lies outside RAM")
            m.uc.mem_write(addr, chunk)
        _restore_cpu(m, header["cpu"][0])
        for name, dev in m.mmio_devices():
            st = header["devices"].get(name)
            if st is not None:
                dev.from_state(st)
        if header.get("gic") is not None and m.gic is not None:
            m.gic.from_state(header["gic"])
        t = header["time"]
        if t["retired"] is not None:
            m._start_counting()
            m.icount.set_retired(t["retired"])
        m.clock.skip_to(t["counter"])
        m.timer.from_state(header["timer"])
        for n, v in header["cpu_lines"].items():
            setattr(m.cpu, n, v)
        m.entry = header["entry"]
        m.restore_symbols(header["symbols"], header["tenants"])
        m._started = True
    except SnapshotError:
        raise
    except (KeyError, TypeError, ValueError, struct.error, zlib.error, UcError) as err:
        raise SnapshotError(f"{path}: corrupt snapshot ({type(err).__name__}: {err})") from None
