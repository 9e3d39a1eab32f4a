"""Counting retired instructions, and stopping the CPU after a given number of them.

The native block hook (emu/cpu/native.py) adds each translation block's size as it starts,
and stops emulation at the block boundary where the count reaches the limit, or before a block
at a misaligned PC (the machine then takes the PC alignment fault). The hook is always there,
in realtime mode too, so that no guest can make Unicorn run from a misaligned PC. Without native
code, a Python block hook does the same, much more slowly.

With ``watch_wfe`` set (several cores), the hook also stops right after a WFE, for the run loop
to end the core's turn. Unicorn gives no hook for WFE, so an edge hook records which translated
blocks end in one (emu/cpu/native.py).

With ``watch_unmask`` set (an interrupt is pending but masked), it stops right after a block
that ends in an instruction that can unmask it (ERET, MSR DAIFClr, MSR DAIF, MSR HCR_EL2), for
the run loop to take the interrupt at the same boundary as a stop after every block would, but
without one. The same edge hook records those blocks.
"""

from __future__ import annotations

import ctypes

from unicorn import UC_HOOK_BLOCK, UC_HOOK_EDGE_GENERATED, UC_PROT_EXEC, UC_PROT_READ, Uc
from unicorn.unicorn_py3.unicorn import uclib

from . import native
from .hooks import HookRegistry

NO_LIMIT = (1 << 64) - 1
STOPPED_AT_LIMIT = 1
STOPPED_MISALIGNED = 2  # a block was about to run at a PC that is not a multiple of 4
STOPPED_AFTER_WFE = 3   # a block was about to run right after a block that ends in WFE
STOPPED_WFE_SET_FULL = 4  # a block that ends in WFE was translated and the set had no room
STOPPED_AFTER_UNMASK = 5  # a block was about to run right after one that may unmask

WFE_SLOTS = 1024  # of the set of blocks that end in WFE, to begin with; it doubles when half full

_vmem_read = uclib.uc_vmem_read
_vmem_read.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
_vmem_read.restype = ctypes.c_int
_vmem_translate = uclib.uc_vmem_translate
_vmem_translate.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int, ctypes.POINTER(ctypes.c_uint64)]
_vmem_translate.restype = ctypes.c_int

PAGE_SHIFT = 12  # the code map's page: Unicorn's target page on AArch64

_B_NEXT = 0x14000001  # b .+4


def _report_every_translation(uc: Uc) -> None:
    """Make Unicorn report the first blocks it translates to UC_HOOK_EDGE_GENERATED as well.

    Unicorn calls that hook only once a block has returned to its main loop normally: tb_find
    (qemu/accel/tcg/cpu-exec.c) reads ``uc->last_tb``, which nothing sets before then and
    nothing clears after. On a fresh Unicorn the first block translated, and every one after it
    until a block ends without an exception or a WFE, would go unreported, and a WFE in them
    unseen. So one branch runs first, from a scratch page unmapped again at once. The page is
    device memory, whose code QEMU translates one instruction at a time and never files under
    a physical page: a RAM page would stay in the page table that every flush of the translated
    code walks, and that cost Linux on four cores 6% of its boot."""
    page = uc.ctl_get_page_size()
    addr = 0  # the lowest free page
    for begin, end, _perms in sorted(uc.mem_regions()):
        if addr + page <= begin:
            break
        addr = max(addr, (end + page) & ~(page - 1))
    uc.mmio_map(addr, page, lambda _uc, offset, _size, _ud: _B_NEXT if offset == 0 else 0, None, None, None)
    try:
        uc.mem_protect(addr, page, UC_PROT_READ | UC_PROT_EXEC)
        uc.emu_start(addr, addr + 4)
    finally:
        uc.mem_unmap(addr, page)


class InstructionCounter:
    """``memory_end``: the physical address above all memory, for the map of the pages that hold
    translated code (:meth:`may_hold_code`); 0: no map, every page may hold code."""

    def __init__(self, uc: Uc, hooks: HookRegistry | None = None, memory_end: int = 0):
        self.uc = uc
        self.native = native.available()
        self._c = native.BlockCounter(0, NO_LIMIT, native.uc_emu_stop_address() if self.native else 0, 0, 0, 0)
        pages = (memory_end + (1 << PAGE_SHIFT) - 1) >> PAGE_SHIFT
        self._code_pages = bytearray(max(1, pages))
        self._c.code_pages = ctypes.addressof((ctypes.c_uint8 * len(self._code_pages)).from_buffer(self._code_pages))
        self._c.code_page_count = pages
        if hooks is None:
            hooks = HookRegistry()
            hooks.attach(uc)
        _report_every_translation(uc)
        if self.native:
            self._c.vmem_read = ctypes.cast(_vmem_read, ctypes.c_void_p).value
            self._c.vmem_translate = ctypes.cast(_vmem_translate, ctypes.c_void_p).value
            self._wfe_slots(WFE_SLOTS)
            hooks.add_native(uc, UC_HOOK_EDGE_GENERATED, native.edge_hook_address(), ctypes.addressof(self._c))
            hooks.add_native(uc, UC_HOOK_BLOCK, native.block_hook_address(), ctypes.addressof(self._c))
        else:
            self._py_wfe_starts: set[int] = set()
            self._py_unmask_starts: set[int] = set()
            hooks.add(UC_HOOK_EDGE_GENERATED, self._py_edge, uc=uc)
            hooks.add(UC_HOOK_BLOCK, self._py_block, uc=uc)

    def _py_block(self, uc: Uc, _addr: int, size: int, _ud) -> None:
        c = self._c
        if _addr & 3:
            c.stopped = STOPPED_MISALIGNED
            uc.emu_stop()
        elif c.count >= c.limit:
            c.stopped = 1
            uc.emu_stop()
        elif c.watch & native.WATCH_UNMASK and c.last_size and c.last_addr in self._py_unmask_starts:
            c.stopped = STOPPED_AFTER_UNMASK
            uc.emu_stop()
        elif c.watch & native.WATCH_WFE and _addr == c.last_addr + c.last_size and c.last_addr in self._py_wfe_starts:
            c.stopped = STOPPED_AFTER_WFE
            uc.emu_stop()
        else:
            c.count += size
            c.last_addr = _addr
            c.last_size = size

    def _py_edge(self, uc: Uc, block, _prev, _ud) -> None:
        # The native edge hook's job (emu/cpu/native.py): words = [the one before, the last].
        if not block.size:
            return
        pa = ctypes.c_uint64()
        for va in {block.pc >> PAGE_SHIFT: block.pc, (block.pc + block.size - 4) >> PAGE_SHIFT: block.pc + block.size - 4}.values():
            if not _vmem_translate(uc._uch, va, UC_PROT_EXEC, ctypes.byref(pa)) \
                    and pa.value >> PAGE_SHIFT < self._c.code_page_count:
                self._code_pages[pa.value >> PAGE_SHIFT] = 1
        n = min(block.size // 4, 2)
        words = (ctypes.c_uint32 * 2)()
        at = block.pc + block.size - 4 * n
        if not n or _vmem_read(uc._uch, at, UC_PROT_EXEC, ctypes.byref(words, 4 * (2 - n)), 4 * n):
            return
        if words[1] == native.WFE:
            if words[0] != native.SEVL:
                self._py_wfe_starts.add(block.pc)
        elif native.may_unmask(words[1]):
            self._py_unmask_starts.add(block.pc)

    def _wfe_slots(self, slots: int) -> None:
        """A set of ``slots`` slots (a power of two) for the starts of blocks that end in WFE,
        holding those already recorded (emu/cpu/native.py)."""
        c = self._c
        old = list(self._wfe_starts) if c.wfe_starts else []
        self._wfe_starts = (ctypes.c_uint64 * slots)()
        c.wfe_starts, c.wfe_mask, c.wfe_used, c.wfe_room = ctypes.addressof(self._wfe_starts), slots - 1, 0, slots // 2
        for key in old:
            if key:
                i = key >> 2
                while self._wfe_starts[i & (slots - 1)]:
                    i += 1
                self._wfe_starts[i & (slots - 1)] = key
                c.wfe_used += 1

    @property
    def watch_wfe(self) -> bool:
        """Stop right after a WFE (STOPPED_AFTER_WFE): with several cores, a WFE ends the turn."""
        return bool(self._c.watch & native.WATCH_WFE)

    @watch_wfe.setter
    def watch_wfe(self, on: bool) -> None:
        self._c.watch = self._c.watch & ~native.WATCH_WFE | (native.WATCH_WFE if on else 0)

    @property
    def watch_unmask(self) -> bool:
        """Stop right after a block that ends in an instruction that may unmask an interrupt
        (STOPPED_AFTER_UNMASK): set while one is pending but masked."""
        return bool(self._c.watch & native.WATCH_UNMASK)

    @watch_unmask.setter
    def watch_unmask(self, on: bool) -> None:
        self._c.watch = self._c.watch & ~native.WATCH_UNMASK | (native.WATCH_UNMASK if on else 0)

    @property
    def wfe_set_full(self) -> bool:
        return self._c.stopped == STOPPED_WFE_SET_FULL

    def grow_wfe_set(self) -> None:
        """After STOPPED_WFE_SET_FULL: double the set, and drop the translated code so that the
        block the edge hook had no room for is translated, and recorded, again."""
        self._wfe_slots(2 * (self._c.wfe_mask + 1))
        self.uc.ctl_flush_tb()

    def may_hold_code(self, addr: int, size: int) -> bool:
        """Whether this core may have translated code from physical [addr, addr + size): code
        was translated from one of its pages since the last :meth:`code_dropped`, or a page is
        beyond the map. The edge hook marks the pages of a block's first and last instructions
        as it translates it (a block spans two pages at most)."""
        first, last = addr >> PAGE_SHIFT, (addr + max(size, 1) - 1) >> PAGE_SHIFT
        if last >= self._c.code_page_count:
            return True
        return any(self._code_pages[first:last + 1])

    def code_dropped(self) -> None:
        """Every translated block of this core has just been dropped: no page holds code."""
        ctypes.memset(self._c.code_pages, 0, self._c.code_page_count)

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
        return c.last_size > 0 and pc == c.last_addr + c.last_size

    @property
    def last_block_start(self) -> int:
        return self._c.last_addr

    def forget_last_block(self) -> None:
        """Before emulation starts again. The stop that ended the last start has been dealt
        with, a WFE before it included; so the first block to run must not be taken for one
        entered right after a WFE, which would stop it again, and again."""
        self._c.last_addr = self._c.last_size = 0

    @property
    def limit_reached(self) -> bool:
        return self._c.stopped == STOPPED_AT_LIMIT

    def set_retired(self, insns: int) -> None:
        """Restore a count (snapshots)."""
        self._c.count = 4 * insns
