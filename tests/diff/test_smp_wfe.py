"""WFE ends the turn of the core that executes it (docs/smp.md, emu/smp.py): a core waiting in
WFE for a lock no longer spins out its quantum, the run stays deterministic, and a run paused
or saved right after a WFE goes on as the run never paused. Also the native hooks that make it
happen (emu/cpu/native.py), on this host and, in Unicorn, the AArch64 host's version."""

from __future__ import annotations

import ctypes
import io
import platform
import struct

import pytest
from conftest import EXIT_WITH_X0
from unicorn import UC_PROT_EXEC

from emu.cpu import icount, native

LARGE_QUANTUM = 10_000_000


def machine(cores: int = 4, quantum: int | None = None):
    from emu.machine import Console, Machine

    return Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=cores, quantum=quantum)


def boot(image, cores: int = 4, quantum: int | None = None, max_insns: int = 100_000_000):
    m = machine(cores, quantum)
    m.load(image)
    return m, m.run(max_insns=max_insns)


@pytest.fixture(scope="module")
def spinlock(built):
    from emu.loader.elf import load_elf

    return load_elf(str(built["smp_wfe_spinlock"]))


def test_waiters_in_wfe_do_not_spin_out_a_large_quantum(spinlock):
    """Core 0 holds the lock until each secondary has found it taken and waited in WFE. While
    WFE ran as a NOP each waiter spun there for a whole quantum: 50,145,055 instructions in all
    with a quantum of ten million. Now its turn ends at the WFE, and what is left is core 0's
    own two turns of waiting for them (LDAR, no WFE)."""
    m, r = boot(spinlock, quantum=LARGE_QUANTUM)
    assert r.exit_code == 0, r
    assert "counter=0x0000000000002ee0" in m.console.text                       # 4 x 3,000 adds
    assert "secondaries that found the lock taken: 0x0000000000000003" in m.console.text
    waiters = [c.icount.retired for c in m.cores[1:]]
    assert all(n < 100_000 for n in waiters), waiters     # 3,000 rounds of the lock: 48,036 each
    assert m.retired < 21_000_000, m.retired


@pytest.mark.parametrize("quantum", [97, 10_000, LARGE_QUANTUM])
def test_each_quantum_repeats_itself_and_loses_no_increment(spinlock, quantum):
    m1, r1 = boot(spinlock, quantum=quantum)
    m2, r2 = boot(spinlock, quantum=quantum)
    assert r1.exit_code == r2.exit_code == 0
    assert "counter=0x0000000000002ee0" in m1.console.text
    assert m1.console.transcript == m2.console.transcript
    assert [c.icount.retired for c in m1.cores] == [c.icount.retired for c in m2.cores]
    assert m1.clock.now() == m2.clock.now()


def test_a_run_saved_right_after_a_wfe_goes_on_as_the_run_never_paused(spinlock, tmp_path):
    """Paused after every block until a secondary has just run the WFE at lock_wait (the pause
    comes before the stop for the WFE would have), saved there and restored into a new machine:
    the rest of the run is the one never paused. On the way, the WFE right after SEVL in
    lock_take does not end the turn."""
    from emu.snapshot import restore, save

    whole, r = boot(spinlock)
    lock_take, lock_wait, lock_try = (spinlock.symbols[s] for s in ("lock_take", "lock_wait", "lock_try"))
    m = machine()
    m.load(spinlock)
    after_sevl = 0
    for _ in range(50_000):
        assert m.run(max_insns=1, pause_at_limit=True).paused
        core = m.core
        if core.index and core.cpu.pc == lock_try and core.icount.ends_last_block(lock_try):
            if core.icount.last_block_start == lock_take:
                after_sevl += 1
                assert core.turn_end > core.icount.retired     # sevl; wfe completes at once
            elif core.icount.last_block_start == lock_wait:
                break
    else:
        pytest.fail("no secondary reached the WFE at lock_wait")
    assert after_sevl
    assert core.turn_end == core.icount.retired                 # the WFE ended the turn
    save(m, tmp_path / "s.snap")
    m2 = machine()
    m2.load(spinlock)
    restore(m2, str(tmp_path / "s.snap"))
    r2 = m2.run(max_insns=100_000_000)
    assert r2.exit_code == r.exit_code == 0
    assert m.console.transcript + m2.console.transcript == whole.console.transcript
    assert [c.icount.retired for c in m2.cores] == [c.icount.retired for c in whole.cores]
    assert m2.clock.now() == whole.clock.now()


# Core 1 waits in WFE four times, each WFE at the end of a block of its own, the first in the
# first block it runs; then it runs three WFEs right after SEVL, which complete at once, and
# ends the run. Core 0 starts it, then counts in a loop.
SITES = """
    .include "smccc.inc"
_start:
    ldr     x0, =PSCI_CPU_ON_64
    mov     x1, #1
    adr     x2, core1
    mov     x3, #0
    smc     #0
spin0:
    add     x5, x5, #1
    b       spin0

core1:
    wfe
    add     x6, x6, #1
    wfe
    add     x6, x6, #1
    wfe
    add     x6, x6, #1
    wfe
    sevl
    wfe
    sevl
    wfe
    sevl
    wfe
    mov     x0, #0
    b       exit_x0
""" + EXIT_WITH_X0


@pytest.mark.parametrize("hooks", ["native", "native, the set growing from 2 slots", "python"])
def test_each_wfe_gives_the_other_core_a_turn(asm_image, monkeypatch, hooks):
    """Core 0 runs one turn, then one after each of core 1's four waits: exactly five turns of
    the quantum (its loop's blocks are two instructions, so a turn ends at most one past it).
    Without native code Python hooks do the same. A set of two slots for the blocks that end in
    WFE has to grow on the way, and misses none."""
    if hooks == "python":
        monkeypatch.setattr(native, "available", lambda: False)
    elif not native.available():
        pytest.skip("no native code on this host")
    if "grow" in hooks:
        monkeypatch.setattr(icount, "WFE_SLOTS", 2)
    quantum = 1_000
    m, r = boot(asm_image(SITES), cores=2, quantum=quantum)
    assert r.exit_code == 0, r
    assert 5 * quantum <= m.cores[0].icount.retired <= 5 * (quantum + 1)
    if "grow" in hooks:
        assert m.cores[1].icount._c.wfe_mask + 1 >= 8      # four blocks, at most half full


def test_one_core_does_not_stop_for_wfe(asm_image):
    """With one core a turn means nothing: the WFEs run through, and the run is as before."""
    m, r = boot(asm_image("""
    .include "smccc.inc"
_start:
    mov     x7, #100
again:
    wfe
    subs    x7, x7, #1
    b.ne    again
    mov     x0, #0
    b       exit_x0
""" + EXIT_WITH_X0), cores=1)
    assert r.exit_code == 0, r
    assert not m.cores[0].icount.watch_wfe


# -- the native hooks -----------------------------------------------------------------------------

WFE, SEVL, NOP = native.WFE, native.SEVL, 0xD503201F
UC = 0x0DDBA11                 # the Unicorn handle the hooks pass on to uc_emu_stop
GUEST = 0x50000                # where the translated block's code is
SLOTS = 8
PA_OFFSET = 0x100000           # the stand-in uc_vmem_translate's physical address: VA + this
MAP_PAGES = 0x1000             # the code-page map the edge hook marks, when a case gives it


class UcTb(ctypes.Structure):
    _fields_ = [("pc", ctypes.c_uint64), ("icount", ctypes.c_uint16), ("size", ctypes.c_uint16)]


def counter(**fields) -> native.BlockCounter:
    c = native.BlockCounter(limit=icount.NO_LIMIT, wfe_mask=SLOTS - 1, wfe_room=SLOTS // 2)
    for name, value in fields.items():
        setattr(c, name, value)
    return c


def slots_with(*keys: int) -> list[int]:
    """The set as the hooks probe it: each key from its home slot (key >> 2) up."""
    slots = [0] * SLOTS
    for key in keys:
        i = key >> 2
        while slots[i % SLOTS]:
            i += 1
        slots[i % SLOTS] = key
    return slots


class OnThisHost:
    """The hooks as the machine runs them, called through ctypes with Python stand-ins."""

    BLOCK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_void_p)
    EDGE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(UcTb), ctypes.POINTER(UcTb), ctypes.c_void_p)
    STOP = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
    VMEM_READ = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int, ctypes.c_void_p,
                                 ctypes.c_size_t)
    VMEM_TRANSLATE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int,
                                      ctypes.POINTER(ctypes.c_uint64))

    def run(self, name, c, slots, x1, x2, code=b"", code_map=None):
        stops, reads = [], []

        def vmem_read(uc, addr, prot, buf, size):
            reads.append((uc, addr, prot, size))
            ctypes.memmove(buf, code[addr - x1:addr - x1 + size], size)
            return 0

        def vmem_translate(uc, addr, prot, pa):
            pa[0] = addr + PA_OFFSET
            return 0 if uc == UC and prot == UC_PROT_EXEC else 1

        stop, read, translate = self.STOP(stops.append), self.VMEM_READ(vmem_read), self.VMEM_TRANSLATE(vmem_translate)
        table = (ctypes.c_uint64 * SLOTS)(*slots)
        pages = (ctypes.c_uint8 * MAP_PAGES)(*(code_map or []))
        c.stop_fn, c.vmem_read, c.vmem_translate, c.wfe_starts = (
            ctypes.cast(f, ctypes.c_void_p).value for f in (stop, read, translate, table))
        c.code_pages = ctypes.addressof(pages)
        if name == "block":
            self.BLOCK(native.block_hook_address())(UC, x1, x2, ctypes.addressof(c))
        else:
            tb = UcTb(x1, x2 // 4, x2)
            self.EDGE(native.edge_hook_address())(UC, ctypes.byref(tb), ctypes.byref(tb), ctypes.addressof(c))
        return c, list(table), stops, reads, list(pages)


class InUnicorn:
    """The AArch64 host's hooks, run in Unicorn with stand-ins for uc_emu_stop and uc_vmem_read
    that log their arguments: this machine is x86-64, so nothing else executes them."""

    CODE, STUBS, DATA, TABLE, LOG, STACK, DONE = 0x10000, 0x12000, 0x20000, 0x21000, 0x22000, 0x40000, 0x30000
    MAP = 0x23000
    STOP, VMEM_READ, VMEM_TRANSLATE = STUBS, STUBS + 0x100, STUBS + 0x200
    SOURCES = {
        # uc_emu_stop(x0 = uc): log x0 at LOG
        STOP: f"ldr x9, ={LOG}\n str x0, [x9]\n ret",
        # uc_vmem_read(x0 = uc, x1 = address, w2 = prot, x3 = buffer, x4 = size): log them from
        # LOG + 8, copy 4 or 8 bytes, return 0
        VMEM_READ: f"""ldr x9, ={LOG + 8}
            stp x0, x1, [x9]
            stp x2, x4, [x9, #16]
            cmp x4, #8
            b.ne one
            ldr x10, [x1]
            str x10, [x3]
            b done
        one:
            ldr w10, [x1]
            str w10, [x3]
        done:
            mov w0, #0
            ret""",
        # uc_vmem_translate(x0 = uc, x1 = address, w2 = prot, x3 = &pa): pa = address + PA_OFFSET,
        # return 0 for the hooks' handle and UC_PROT_EXEC, else 1
        VMEM_TRANSLATE: f"""ldr x9, ={PA_OFFSET}
            add x9, x1, x9
            str x9, [x3]
            ldr x9, ={UC}
            cmp x0, x9
            b.ne refuse
            cmp w2, #{UC_PROT_EXEC}
            b.ne refuse
            mov w0, #0
            ret
        refuse:
            mov w0, #1
            ret""",
    }

    def run(self, name, c, slots, x1, x2, code=b"", code_map=None):
        from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, Uc
        from unicorn.arm64_const import UC_ARM64_REG_PC, UC_ARM64_REG_SP, UC_ARM64_REG_X0, UC_ARM64_REG_X30

        keystone = pytest.importorskip("keystone")
        ks = keystone.Ks(keystone.KS_ARCH_ARM64, keystone.KS_MODE_LITTLE_ENDIAN)
        uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        for base in (self.CODE, self.STUBS, self.DATA, self.TABLE, self.LOG, self.DONE, self.STACK - 0x1000,
                     self.MAP):
            uc.mem_map(base, 0x1000)
        uc.mem_map(GUEST, 0x2000)
        uc.mem_write(self.CODE, bytes(ks.asm(native._fill(native._AARCH64[name]), self.CODE)[0]))
        for addr, src in self.SOURCES.items():
            uc.mem_write(addr, bytes(ks.asm(src, addr)[0]))
        if code:
            uc.mem_write(x1, code)
        uc.mem_write(self.MAP, bytes(code_map or [0] * MAP_PAGES))
        c.stop_fn, c.vmem_read, c.vmem_translate, c.wfe_starts = self.STOP, self.VMEM_READ, self.VMEM_TRANSLATE, self.TABLE
        c.code_pages = self.MAP
        uc.mem_write(self.DATA, bytes(c))
        uc.mem_write(self.TABLE, struct.pack(f"<{SLOTS}Q", *slots))
        if name == "edge":
            uc.mem_write(self.DATA + 0x800, bytes(UcTb(x1, x2 // 4, x2)))
            x1, x2 = self.DATA + 0x800, self.DATA + 0x800
        for reg, value in ((UC_ARM64_REG_X0, UC), (UC_ARM64_REG_X0 + 1, x1), (UC_ARM64_REG_X0 + 2, x2),
                           (UC_ARM64_REG_X0 + 3, self.DATA), (UC_ARM64_REG_X30, self.DONE),
                           (UC_ARM64_REG_SP, self.STACK)):
            uc.reg_write(reg, value)
        uc.emu_start(self.CODE, self.DONE, count=10_000)
        assert uc.reg_read(UC_ARM64_REG_PC) == self.DONE and uc.reg_read(UC_ARM64_REG_SP) == self.STACK
        stop_uc, read_uc, read_addr, read_prot, read_size = struct.unpack("<5Q", uc.mem_read(self.LOG, 40))
        after = native.BlockCounter.from_buffer_copy(bytes(uc.mem_read(self.DATA, ctypes.sizeof(c))))
        table = list(struct.unpack(f"<{SLOTS}Q", uc.mem_read(self.TABLE, 8 * SLOTS)))
        return (after, table, [stop_uc] if stop_uc else [],
                [(read_uc, read_addr, read_prot & 0xFFFFFFFF, read_size)] if read_uc else [],
                list(uc.mem_read(self.MAP, MAP_PAGES)))


HOSTS = [pytest.param(OnThisHost(), id="this host",
                      marks=pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64")
                                               or not native.available(), reason="the hooks are not x86-64 code here")),
         pytest.param(InUnicorn(), id="aarch64 host in unicorn")]

A = 0x40001000   # a block's address
L = 0x40002000   # the block counted last, 4 bytes long


def cases(*rows):
    """pytest params named by their first item."""
    return [pytest.param(*row[1:], id=row[0]) for row in rows]


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("c, slots, addr, size, stopped, counted", cases(
    ("counts a block", counter(count=100, limit=1000), slots_with(), A, 12, 0, True),
    ("stops at the limit", counter(count=1000, limit=1000), slots_with(), A, 12, 1, False),
    ("stops before a misaligned block", counter(), slots_with(), A + 2, 12, 2, False),
    ("stops right after a WFE", counter(watch=1, last_addr=L, last_size=4), slots_with(L | 1), L + 4, 8, 3, False),
    ("probes past another key", counter(watch=1, last_addr=L, last_size=4), slots_with(L + 0x20 | 1, L | 1),
     L + 4, 8, 3, False),
    ("not without watch_wfe", counter(last_addr=L, last_size=4), slots_with(L | 1), L + 4, 8, 0, True),
    ("not after a block not in the set", counter(watch=1, last_addr=L, last_size=4), slots_with(L + 0x40 | 1),
     L + 4, 8, 0, True),
    ("not where the last block did not end", counter(watch=1, last_addr=L, last_size=4), slots_with(L | 1),
     A, 8, 0, True),
    ("stops after a block that may unmask, wherever the next one is", counter(watch=2, last_addr=L, last_size=4),
     slots_with(L | 2), A, 8, 5, False),
    ("and right after it", counter(watch=2, last_addr=L, last_size=4), slots_with(L + 0x20 | 1, L | 2), L + 4, 8, 5,
     False),
    ("not without watch_unmask", counter(watch=1, last_addr=L, last_size=4), slots_with(L | 2), L + 4, 8, 0, True),
    ("a WFE is no unmask", counter(watch=2, last_addr=L, last_size=4), slots_with(L | 1), L + 4, 8, 0, True),
    ("both watches, after a WFE", counter(watch=3, last_addr=L, last_size=4), slots_with(L | 1), L + 4, 8, 3, False),
    ("both watches, after neither", counter(watch=3, last_addr=L, last_size=4), slots_with(L + 0x40 | 2),
     L + 4, 8, 0, True),
    ("not before the first block of a start", counter(watch=2), slots_with(2), A, 8, 0, True),
))
def test_the_block_hook(host, c, slots, addr, size, stopped, counted):
    before = native.BlockCounter.from_buffer_copy(bytes(c))
    after, table, stops, _, _ = host.run("block", c, slots, addr, size)
    assert after.stopped == stopped
    assert stops == ([UC] if stopped else [])
    if counted:
        assert (after.count, after.last_addr, after.last_size) == (before.count + size, addr, size)
    else:
        assert (after.count, after.last_addr, after.last_size) == (before.count, before.last_addr, before.last_size)
    assert table == slots


def words(*insns: int) -> bytes:
    return struct.pack(f"<{len(insns)}I", *insns)


ERET, DAIFSET_I, DAIFCLR_I, DAIFCLR_ALL = 0xD69F03E0, 0xD50342DF, 0xD50342FF, 0xD5034FFF
MSR_DAIF_X5, MSR_HCR_EL2_X1, MSR_ELR_EL2_X1, MRS_X1_DAIF = 0xD51B4225, 0xD51C1101, 0xD51C4021, 0xD53B4221


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("c, slots, code, key, stopped", cases(
    ("records a block of one WFE", counter(), slots_with(), words(WFE), GUEST | 1, 0),
    ("records a block that ends in WFE", counter(), slots_with(), words(NOP, NOP, WFE), GUEST | 1, 0),
    ("not one with SEVL before its WFE", counter(), slots_with(), words(NOP, SEVL, WFE), None, 0),
    ("not one that ends in something else", counter(), slots_with(), words(WFE, NOP), None, 0),
    ("keeps a block once", counter(wfe_used=1), slots_with(GUEST | 1), words(NOP, WFE), None, 0),
    ("probes past another key", counter(wfe_used=1), slots_with(GUEST + 0x20 | 1), words(WFE), GUEST | 1, 0),
    ("stops when the set has no room", counter(wfe_used=4), slots_with(*(GUEST + 0x100 * i | 1 for i in range(1, 5))),
     words(WFE), None, 4),
    ("records one that ends in ERET, as may unmask", counter(), slots_with(), words(NOP, ERET), GUEST | 2, 0),
    ("in MSR DAIFClr, #2", counter(), slots_with(), words(DAIFCLR_I), GUEST | 2, 0),
    ("in MSR DAIFClr, #0xf", counter(), slots_with(), words(NOP, DAIFCLR_ALL), GUEST | 2, 0),
    ("in MSR DAIF, x5", counter(), slots_with(), words(NOP, MSR_DAIF_X5), GUEST | 2, 0),
    ("in MSR HCR_EL2, x1", counter(), slots_with(), words(MSR_HCR_EL2_X1), GUEST | 2, 0),
    ("not MSR DAIFSet", counter(), slots_with(), words(NOP, DAIFSET_I), None, 0),
    ("not MSR ELR_EL2", counter(), slots_with(), words(NOP, MSR_ELR_EL2_X1), None, 0),
    ("not MRS x1, DAIF", counter(), slots_with(), words(NOP, MRS_X1_DAIF), None, 0),
    ("keeps an unmasking block once", counter(wfe_used=1), slots_with(GUEST | 2), words(ERET), None, 0),
))
def test_the_edge_hook(host, c, slots, code, key, stopped):
    used = c.wfe_used
    after, table, stops, reads, code_map = host.run("edge", c, slots, GUEST, len(code), code)
    assert reads[-1][0] == UC and reads[-1][2] == UC_PROT_EXEC
    assert reads[-1][1] + reads[-1][3] == GUEST + len(code) and reads[-1][3] == min(len(code), 8)
    assert after.wfe_used == used + (key is not None)
    assert sorted(k for k in table if k) == sorted([k for k in slots if k] + ([key] if key is not None else []))
    assert after.stopped == stopped and stops == ([UC] if stopped else [])
    assert not any(code_map)   # no map given


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("start, size, pages, marked", cases(
    ("marks the physical page of a block", GUEST + 0x100, 12, MAP_PAGES, [(GUEST + PA_OFFSET) >> 12]),
    ("both pages of one that crosses a page", GUEST + 0xFF8, 16, MAP_PAGES,
     [(GUEST + PA_OFFSET) >> 12, ((GUEST + PA_OFFSET) >> 12) + 1]),
    ("one page of a block that ends at its end", GUEST + 0xFF0, 16, MAP_PAGES, [(GUEST + PA_OFFSET) >> 12]),
    ("nothing beyond the map", GUEST + 0xFF8, 16, ((GUEST + PA_OFFSET) >> 12) + 1, [(GUEST + PA_OFFSET) >> 12]),
    ("nothing without a map", GUEST + 0x100, 12, 0, []),
))
def test_the_edge_hook_marks_the_pages_of_translated_code(host, start, size, pages, marked):
    """What write_phys reads to drop translated code only when a DMA lands on some
    (emu/guestview.py)."""
    after, table, stops, _, code_map = host.run("edge", counter(code_page_count=pages), slots_with(), start, size,
                                                words(*[NOP] * (size // 4)))
    assert [i for i, v in enumerate(code_map) if v] == marked
    assert all(v in (0, 1) for v in code_map)
    assert not any(table) and not stops and after.stopped == 0
