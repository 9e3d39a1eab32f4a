"""Arm semihosting (Arm IHI 0071, "Semihosting for AArch32 and AArch64"), as QEMU's -semihosting.

On AArch64 the call is ``HLT #0xF000`` with the operation in W0 and a parameter block address in
X1; the result goes to X0. Unicorn has no semihosting, so the HLT arrives as an undefined
instruction and the machine services it here, then steps over the HLT.

Modelled: SYS_WRITEC, SYS_WRITE0, SYS_WRITE (to stdout/stderr handles only), SYS_EXIT and
SYS_EXIT_EXTENDED. Files, clocks and the command line are not: they return -1, which the
specification allows for a host that refuses a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

HLT_F000 = 0xD45E0000  # HLT #0xF000

SYS_OPEN = 0x01
SYS_WRITEC = 0x03
SYS_WRITE0 = 0x04
SYS_WRITE = 0x05
SYS_EXIT = 0x18
SYS_EXIT_EXTENDED = 0x20

ADP_Stopped_ApplicationExit = 0x20026


@dataclass
class SemihostExit:
    code: int
    reason: int


class Semihosting:
    """Services one call. ``read_mem(addr, size)`` reads guest memory as the caller sees it."""

    def __init__(self, read_mem: Callable[[int, int], bytes], console_write: Callable[[bytes], None]):
        self._read = read_mem
        self._write = console_write

    def _cstring(self, addr: int, limit: int = 1 << 16) -> bytes:
        out = bytearray()
        while len(out) < limit:
            chunk = self._read(addr + len(out), 64)
            nul = chunk.find(0)
            if nul >= 0:
                out += chunk[:nul]
                break
            out += chunk
        return bytes(out)

    def call(self, op: int, param: int) -> int | SemihostExit:
        """Run operation ``op``; returns the value for X0, or a SemihostExit."""
        if op == SYS_WRITEC:
            self._write(self._read(param, 1))
            return 0
        if op == SYS_WRITE0:
            self._write(self._cstring(param))
            return 0
        if op == SYS_WRITE:
            handle, buf, length = (int.from_bytes(self._read(param + 8 * i, 8), "little") for i in range(3))
            if handle not in (1, 2):
                return length  # nothing written
            self._write(self._read(buf, length))
            return 0
        if op in (SYS_EXIT, SYS_EXIT_EXTENDED):
            # AArch64 passes a two-word block {reason, subcode}; QEMU exits with the subcode for
            # ApplicationExit and with 1 for any other reason.
            block = self._read(param, 16)
            reason = int.from_bytes(block[:8], "little")
            sub = int.from_bytes(block[8:], "little")
            code = sub & 0xFF if reason == ADP_Stopped_ApplicationExit else 1
            return SemihostExit(code, reason)
        return (1 << 64) - 1  # -1: not supported
