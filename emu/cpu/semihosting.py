"""Arm semihosting (Arm IHI 0071, "Semihosting for AArch32 and AArch64"), as QEMU's -semihosting.

On AArch64 the call is ``HLT #0xF000`` with the operation in W0 and a parameter block address in
X1; the result goes to X0. Unicorn has no semihosting, so the HLT arrives as an undefined
instruction and the machine services it here, then steps over the HLT.

Who may call: semihosting is a debug channel to the host, so it is honoured only at the EL the
machine started at and above, unless the user allows lower ELs (:class:`SemihostingConfig`,
QEMU's ``-semihosting-config userspace=on``). Below that, ``HLT`` is what the architecture makes
it with halting debug disabled: an UNDEFINED instruction, taken by the guest's own vectors. A
tenant therefore cannot write to the host console, read other tenants' memory through a
pointer, or end the run.

Where it may point: every address is a virtual address of the caller, translated through its
own translation regime page by page (the ``read_mem`` callable), and only RAM and ROM can be
read; an address the caller cannot read makes the call fail with -1, as QEMU's EFAULT does.
Every length is bounded: one SYS_WRITE or SYS_WRITE0 moves at most ``MAX_TRANSFER`` bytes
(SYS_WRITE returns the number of bytes not written, as the specification allows).

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

MAX_TRANSFER = 64 << 10   # bytes one call may move to the console
MINUS_ONE = (1 << 64) - 1


@dataclass
class SemihostingConfig:
    """QEMU's -semihosting-config: ``enabled`` (on by default, as the README's exit-code
    contract relies on it) and ``lower_els`` (QEMU's userspace=on: honour calls from ELs below
    the one the machine started at, for example from a tenant at EL1 under a hypervisor)."""

    enabled: bool = True
    lower_els: bool = False

    def allows(self, el: int, start_el: int) -> bool:
        return self.enabled and (el >= start_el or self.lower_els)


@dataclass
class SemihostExit:
    code: int
    reason: int


class Semihosting:
    """Services one call. ``read_mem(addr, size)`` reads the caller's memory as it sees it and
    returns fewer bytes than asked (possibly none) where the caller cannot read."""

    def __init__(self, read_mem: Callable[[int, int], bytes], console_write: Callable[[bytes], None]):
        self._read = read_mem
        self._write = console_write

    def _words(self, addr: int, count: int) -> list[int] | None:
        block = self._read(addr, 8 * count)
        if len(block) < 8 * count:
            return None
        return [int.from_bytes(block[8 * i:8 * i + 8], "little") for i in range(count)]

    def _cstring(self, addr: int) -> bytes:
        out = bytearray()
        while len(out) < MAX_TRANSFER:
            chunk = self._read(addr + len(out), min(64, MAX_TRANSFER - len(out)))
            nul = chunk.find(0)
            if nul >= 0:
                return bytes(out + chunk[:nul])
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def call(self, op: int, param: int) -> int | SemihostExit:
        """Run operation ``op``; returns the value for X0, or a SemihostExit."""
        if op == SYS_WRITEC:
            byte = self._read(param, 1)
            if not byte:
                return MINUS_ONE
            self._write(byte)
            return 0
        if op == SYS_WRITE0:
            self._write(self._cstring(param))
            return 0
        if op == SYS_WRITE:
            words = self._words(param, 3)
            if words is None:
                return MINUS_ONE
            handle, buf, length = words
            if handle not in (1, 2):
                return length  # nothing written
            data = self._read(buf, min(length, MAX_TRANSFER))
            self._write(data)
            return length - len(data)
        if op in (SYS_EXIT, SYS_EXIT_EXTENDED):
            # AArch64 passes a two-word block {reason, subcode}; QEMU exits with the subcode for
            # ApplicationExit and with 1 for any other reason, and fails the call (-1) when it
            # cannot read the block.
            words = self._words(param, 2)
            if words is None:
                return MINUS_ONE
            reason, sub = words
            code = sub & 0xFF if reason == ADP_Stopped_ApplicationExit else 1
            return SemihostExit(code, reason)
        return MINUS_ONE  # not supported
