"""Counter reads served by the native MRS hook (emu/cpu/native.py) give exactly what the Python
timer model gives, at the same instructions, and leave traps to Python."""

from __future__ import annotations

import io

import pytest

from emu import snapshot
from emu.cpu import native
from emu.cpu.timer_glue import TimerRegisters

pytestmark = pytest.mark.skipif(not native.available(), reason="no native code on this host")

SAMPLES = 0x40400000
EL2_ROUNDS, EL1_ROUNDS = 600, 200

# Reads CNTVCT_EL0 and CNTPCT_EL0 at EL2 after spins of 0 to 15 iterations (so at every offset
# into a translation block), writes CNTVOFF_EL2 half way, then reads both at EL1: for the first
# 100 rounds CNTHCTL_EL2.EL1PCTEN = 0 traps the CNTPCT_EL0 read to EL2, whose handler leaves
# the syndrome in x2 and skips the MRS. Every pair goes to SAMPLES.
RECORDER = f"""
    .include "board.inc"
    .include "smccc.inc"
_start:
    adr     x0, el2_vectors
    msr     vbar_el2, x0
    ldr     x19, ={SAMPLES:#x}
    mov     x20, #0
el2_round:
    mrs     x1, cntvct_el0
    mrs     x2, cntpct_el0
    stp     x1, x2, [x19], #16
    and     x3, x20, #15
spin:
    cbz     x3, spun
    sub     x3, x3, #1
    b       spin
spun:
    add     x20, x20, #1
    cmp     x20, #{EL2_ROUNDS // 2}
    b.ne    keep_offset
    ldr     x4, =0x12345
    msr     cntvoff_el2, x4
keep_offset:
    cmp     x20, #{EL2_ROUNDS}
    b.ne    el2_round
    msr     cnthctl_el2, xzr
    mov     x0, #(1 << 31)
    msr     hcr_el2, x0
    mov     x0, #0x3c5
    msr     spsr_el2, x0
    adr     x0, el1_code
    msr     elr_el2, x0
    eret
el1_code:
    mov     x20, #0
el1_round:
    mrs     x1, cntvct_el0
    mrs     x2, cntpct_el0
    stp     x1, x2, [x19], #16
    add     x20, x20, #1
    cmp     x20, #{EL1_ROUNDS // 2}
    b.ne    el1_next
    mov     x0, #0
    hvc     #0
el1_next:
    cmp     x20, #{EL1_ROUNDS}
    b.ne    el1_round
    mov     x0, #1
    hvc     #0

    .balign 0x800
el2_vectors:
    .org    el2_vectors + 0x400
    mrs     x2, esr_el2
    lsr     x3, x2, #26
    cmp     x3, #0x16
    b.eq    hvc_call
    mrs     x3, elr_el2
    add     x3, x3, #4
    msr     elr_el2, x3
    eret
hvc_call:
    cbnz    x0, finish
    mov     x3, #3
    msr     cnthctl_el2, x3
    eret
finish:
    adr     x1, exit_block
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000
    .ltorg
    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
"""

COUNTERS = ("CNTPCT_EL0", "CNTVCT_EL0")


@pytest.fixture
def python_reads(monkeypatch):
    """Counts the counter reads that reach the Python handler."""
    calls = []
    original = TimerRegisters._mrs

    def counting(self, uch, reg, cp_ptr, ud):
        if self._name(cp_ptr) in COUNTERS:
            calls.append(self._name(cp_ptr))
        return original(self, uch, reg, cp_ptr, ud)

    monkeypatch.setattr(TimerRegisters, "_mrs", counting)
    return calls


def machine(time_mode="deterministic", native_reads=True):
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), time_mode=time_mode)
    m.timer_regs.serve_counter_reads_natively(native_reads)
    return m


def record(m, image, chunk=5000, skip=777):
    """Run in chunks of ``chunk`` instructions, moving time on by ``skip`` ticks between them
    (as a WFI or a restore does); the samples, the counter at the end, the instruction count."""
    m.load(image)
    while True:
        r = m.run(max_insns=chunk, pause_at_limit=True)
        if r.exit_code is not None:
            break
        m.clock.skip_to(m.clock.now() + skip)
    assert r.exit_code == 0, r
    raw = m.uc.mem_read(SAMPLES, 16 * (EL2_ROUNDS + EL1_ROUNDS))
    pairs = [(int.from_bytes(raw[i:i + 8], "little"), int.from_bytes(raw[i + 8:i + 16], "little"))
             for i in range(0, len(raw), 16)]
    return pairs, m.clock.now(), m.icount.retired


def test_native_reads_equal_python_reads_at_the_same_instructions(asm_image, python_reads):
    img = asm_image(RECORDER)
    native_run = record(machine(native_reads=True), img)
    trapped = list(python_reads)
    python_reads.clear()
    python_run = record(machine(native_reads=False), img)
    assert native_run == python_run
    # Natively served: all but the EL1 physical counter reads that CNTHCTL_EL2 traps.
    assert trapped == ["CNTPCT_EL0"] * (EL1_ROUNDS // 2)
    assert len(python_reads) == 2 * (EL2_ROUNDS + EL1_ROUNDS)
    pairs = native_run[0]
    phys = [p for _, p in pairs[:EL2_ROUNDS]]
    assert all(p == v for v, p in pairs[:EL2_ROUNDS // 2])                 # CNTVOFF_EL2 = 0
    assert all((p - v) % (1 << 64) == 0x12345 for v, p in pairs[EL2_ROUNDS // 2 + 1:EL2_ROUNDS])
    assert all(b >= a for a, b in zip(phys, phys[1:])) and phys[-1] > phys[0]
    el1 = pairs[EL2_ROUNDS:]
    assert all(p >> 26 == 0x18 for _, p in el1[:EL1_ROUNDS // 2])         # the trap's ESR_EL2
    assert all((p - v) % (1 << 64) == 0x12345 for v, p in el1[EL1_ROUNDS // 2 + 1:])


def test_native_reads_are_deterministic(asm_image):
    img = asm_image(RECORDER)
    assert record(machine(), img) == record(machine(), img)


def test_without_native_code_the_python_paths_give_the_same_values(asm_image, monkeypatch):
    img = asm_image(RECORDER)
    expected = record(machine(), img)
    monkeypatch.setattr(native, "available", lambda: False)
    m = machine()
    assert m.timer_regs.counter_reads.allowed == 0
    assert record(m, img) == expected


def test_a_restored_run_reads_the_same_counters(asm_image, tmp_path):
    img = asm_image(RECORDER)
    expected = record(machine(native_reads=False), img, chunk=1 << 40)
    first = machine()
    first.load(img)
    assert first.run(max_insns=15001, pause_at_limit=True).exit_code is None
    assert first.timer.cntvoff == 0x12345  # the restore must bring it into the native hook too
    path = tmp_path / "mid.snap"
    snapshot.save(first, str(path))
    restored = machine()
    restored.timer.cntvoff = 0x999
    snapshot.restore(restored, str(path))
    assert restored.run().exit_code == 0
    raw = restored.uc.mem_read(SAMPLES, 16 * (EL2_ROUNDS + EL1_ROUNDS))
    pairs = [(int.from_bytes(raw[i:i + 8], "little"), int.from_bytes(raw[i + 8:i + 16], "little"))
             for i in range(0, len(raw), 16)]
    assert (pairs, restored.clock.now(), restored.icount.retired) == expected


def test_realtime_reads_follow_the_host_clock_natively(asm_image, python_reads):
    if not native.clock_gettime_address():
        pytest.skip("no clock_gettime for the native hook")
    m = machine("realtime")
    before = m.clock.now()
    pairs, after, _ = record(m, asm_image(RECORDER), chunk=1 << 40)
    assert python_reads == ["CNTPCT_EL0"] * (EL1_ROUNDS // 2)
    phys = [p for _, p in pairs[:EL2_ROUNDS]]
    assert before <= phys[0] and all(b >= a for a, b in zip(phys, phys[1:])) and phys[-1] <= after
    # CNTVCT_EL0 is read first, so CNTPCT_EL0 minus it is CNTVOFF_EL2 plus the time between.
    assert all(0 <= (p - v) % (1 << 64) - 0x12345 <= after - before for v, p in pairs[EL2_ROUNDS // 2 + 1:EL2_ROUNDS])


def test_reads_that_trap_or_need_the_model_are_left_to_python():
    m = machine()
    t, c = m.timer, m.timer_regs.counter_reads

    def bit(el, name):
        return bool(c.allowed >> (2 * el + COUNTERS.index(name)) & 1)

    # Out of reset: CNTHCTL_EL2 = 3, CNTKCTL_EL1 = 0 (EL0 reads trap to EL1).
    assert [bit(el, n) for el in range(4) for n in COUNTERS] == [False, False] + [True] * 6
    t.cnthctl = 0                       # EL1PCTEN = 0: EL0/EL1 CNTPCT_EL0 reads trap to EL2
    t.cntkctl = 0x3                     # EL0PCTEN | EL0VCTEN
    assert [bit(el, n) for el in range(2) for n in COUNTERS] == [False, True, False, True]
    t.cnthctl = 1
    assert [bit(el, n) for el in range(2) for n in COUNTERS] == [True, True, True, True]
    t.cntvoff = 77
    assert c.cntvoff == 77
    m.clock.skip_to(m.clock.now() + 1000)
    assert c.offset == 1000
    m.timer_regs.serve_counter_reads_natively(False)
    assert c.allowed == 0
