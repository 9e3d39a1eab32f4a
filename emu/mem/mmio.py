"""MMIO dispatch from Unicorn to device models, and stopping the CPU from inside an access.

A device that raises an interrupt during a register access wants the CPU to take it at the
next instruction. Unicorn's ``emu_stop`` called from an MMIO callback does stop at once, but
it leaves the accessing instruction half done: the access itself (and a load's destination
register) has happened, while the base-register writeback and PC have not, so resuming would
repeat the access. :meth:`MmioBus.finish_interrupted_access` completes that instruction in
Python from its encoding (Capstone): the writeback, the second transfer of an LDP/STP, and
PC + 4. What it cannot finish (an exclusive, an atomic, SIMD) it leaves alone and the stop is
not requested, so the interrupt is taken at the next natural stop instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs
from capstone.arm64 import ARM64_OP_IMM, ARM64_OP_MEM, ARM64_OP_REG
from unicorn import Uc
from unicorn.arm64_const import UC_ARM64_REG_PC, UC_ARM64_REG_SP

from ..cpu.gpr import W, X


@dataclass
class Access:
    device: object
    pa: int
    offset: int
    size: int
    write: bool


def _gpr(name: str) -> tuple[int, int] | None:
    """(Unicorn register id, width in bits) for a general-purpose register name."""
    if name == "sp":
        return UC_ARM64_REG_SP, 64
    if name in ("xzr", "wzr"):
        return None
    if name[0] in "xw" and name[1:].isdigit():
        n = int(name[1:])
        return (X[n] if name[0] == "x" else W[n]), (64 if name[0] == "x" else 32)
    return None


class MmioBus:
    def __init__(self, uc: Uc, read_insn: Callable[[int], bytes]):
        self.uc = uc
        self._read_insn = read_insn
        self._cs = Cs(CS_ARCH_ARM64, CS_MODE_ARM)
        self._cs.detail = True
        self.current: Access | None = None   # the access being served, if any
        self.interrupted: Access | None = None

    def map(self, base: int, size: int, device) -> None:
        def mmio_read(_uc, offset, sz, _ud):
            self.current = Access(device, base + offset, offset, sz, False)
            try:
                return device.read(offset, sz)
            finally:
                self.current = None

        def mmio_write(_uc, offset, sz, value, _ud):
            self.current = Access(device, base + offset, offset, sz, True)
            try:
                device.write(offset, sz, value)
            finally:
                self.current = None

        self.uc.mmio_map(base, size, mmio_read, None, mmio_write, None)

    def stop_after_access(self) -> bool:
        """Ask the CPU to stop right after the access being served. False if none is."""
        if self.current is None:
            return False
        self.interrupted = self.current
        self.uc.emu_stop()
        return True

    def finish_interrupted_access(self) -> None:
        """Complete the instruction an MMIO stop cut short (call after emu_start returned)."""
        acc, self.interrupted = self.interrupted, None
        if acc is None:
            return
        uc = self.uc
        pc = uc.reg_read(UC_ARM64_REG_PC)
        insn = next(self._cs.disasm(self._read_insn(pc), pc), None)
        if insn is None:
            return
        ops = insn.operands
        mem_i = next((i for i, op in enumerate(ops) if op.type == ARM64_OP_MEM), None)
        if mem_i is None:
            return
        mnem = insn.mnemonic
        mem = ops[mem_i].mem
        base = _gpr(insn.reg_name(mem.base)) if mem.base else None
        base_val = uc.reg_read(base[0]) if base else 0
        pair = mnem in ("ldp", "stp", "ldpsw")
        if pair and mem_i == 2:
            first_va = base_val + (mem.disp if not (insn.writeback and len(ops) > 3) else 0)
            # Only the first transfer happened if the interrupted access is at the pair's lower
            # address (compared within the page: stage-1/2 keep page offsets).
            if (first_va & 0xFFF) == (acc.pa & 0xFFF):
                r2 = _gpr(insn.reg_name(ops[1].reg)) if ops[1].type == ARM64_OP_REG else None
                off2 = acc.offset + acc.size
                if acc.write:
                    val = uc.reg_read(r2[0]) if r2 else 0
                    acc.device.write(off2, acc.size, val & ((1 << (8 * acc.size)) - 1))
                else:
                    val = acc.device.read(off2, acc.size)
                    if mnem == "ldpsw" and val & 0x80000000:
                        val -= 1 << 32
                    if r2:
                        uc.reg_write(r2[0], val & ((1 << r2[1]) - 1))
        if insn.writeback and base:
            post = len(ops) > mem_i + 1 and ops[mem_i + 1].type == ARM64_OP_IMM
            step = ops[mem_i + 1].imm if post else mem.disp
            uc.reg_write(base[0], (base_val + step) & ((1 << 64) - 1))
        uc.reg_write(UC_ARM64_REG_PC, pc + insn.size)
