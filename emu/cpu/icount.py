"""Counting retired instructions, and stopping the CPU after a given number of them.

The native block hook (emu/cpu/native.py) adds each translation block's size as it starts,
and stops emulation at the block boundary where the count reaches the limit, or before a block
at a misaligned PC (the machine then takes the PC alignment fault). The hook is always there,
in realtime mode too, so that no guest can make Unicorn run from a misaligned PC. Without native
code, a Python block hook does the same, much more slowly.
"""

from __future__ import annotations

import ctypes

from unicorn import UC_HOOK_BLOCK, Uc

from . import native
from .hooks import HookRegistry

NO_LIMIT = (1 << 64) - 1
STOPPED_AT_LIMIT = 1
STOPPED_MISALIGNED = 2  # a block was about to run at a PC that is not a multiple of 4


class InstructionCounter:
    def __init__(self, uc: Uc, hooks: HookRegistry | None = None):
        self.uc = uc
        self.native = native.available()
        self._c = native.BlockCounter(0, NO_LIMIT, native.uc_emu_stop_address() if self.native else 0, 0, 0, 0)
        if hooks is None:
            hooks = HookRegistry()
            hooks.attach(uc)
        if self.native:
            hooks.add_native(uc, UC_HOOK_BLOCK, native.block_hook_address(), ctypes.addressof(self._c))
        else:
            hooks.add(UC_HOOK_BLOCK, self._py_block)

    def _py_block(self, uc: Uc, _addr: int, size: int, _ud) -> None:
        c = self._c
        if _addr & 3:
            c.stopped = STOPPED_MISALIGNED
            uc.emu_stop()
        elif c.count >= c.limit:
            c.stopped = 1
            uc.emu_stop()
        else:
            c.count += size
            c.last_addr = _addr
            c.last_size = size

    @property
    def count_address(self) -> int:
        """Address of the count, a 64-bit number of bytes of code (4 per instruction), for
        native code that reads it (counter reads, emu/cpu/timer_glue.py)."""
        return ctypes.addressof(self._c) + native.BlockCounter.count.offset

    @property
    def retired(self) -> int:
        """Instructions executed so far (whole translation blocks, A64: 4 bytes each)."""
        return self._c.count // 4

    def stop_after(self, insns: int | None) -> None:
        """Stop at the first block boundary once ``insns`` more instructions have run (None:
        never). At least one block runs: a limit of 0 means "after the next block"."""
        self._c.limit = NO_LIMIT if insns is None else self._c.count + max(1, 4 * insns)
        self._c.stopped = 0

    def stop_soon(self) -> None:
        """Stop at the next block boundary, after the block being executed (or the first one)."""
        self._c.limit = self._c.count + 1

    def settle(self, pc: int) -> None:
        """After emulation stopped at ``pc``: if that is inside the block counted last (a stop
        from a hook or an MMIO access, mid-block), give back the instructions from ``pc`` to the
        block's end. They have not run, and will be counted when execution resumes there. A
        stop at the limit happens between blocks and needs nothing."""
        c = self._c
        if c.stopped:
            return
        if c.last_addr <= pc < c.last_addr + c.last_size:
            c.count -= c.last_addr + c.last_size - pc
            c.last_size = pc - c.last_addr

    def ends_last_block(self, pc: int) -> bool:
        """True if ``pc`` is just past the block counted last (where a stop between blocks,
        or after an instruction that ends its block, leaves the PC)."""
        c = self._c
        return pc == c.last_addr + c.last_size

    @property
    def limit_reached(self) -> bool:
        return self._c.stopped == STOPPED_AT_LIMIT

    def set_retired(self, insns: int) -> None:
        """Restore a count (snapshots)."""
        self._c.count = 4 * insns
