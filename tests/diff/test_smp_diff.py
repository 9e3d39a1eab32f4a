"""Several cores: the SMP probes (guest/smp/) give QEMU's transcript and exit code with four
cores on both sides, and the same run twice gives the same interleaving."""

from __future__ import annotations

import io

import pytest
from conftest import ROOT

from emu.reference import run_qemu

SMP_PROBES = sorted(p.stem for p in (ROOT / "guest" / "smp").glob("*.s"))


def boot_smp(path, cores: int = 4, quantum: int | None = None, max_insns: int = 50_000_000):
    from emu.loader.elf import load_elf
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=cores, quantum=quantum)
    m.load(load_elf(str(path)))
    return m, m.run(max_insns=max_insns)


@pytest.mark.qemu
@pytest.mark.parametrize("probe", SMP_PROBES)
def test_smp_probe_matches_qemu(qemu, built, probe):
    path = built[f"smp_{probe}"]
    ref = run_qemu(path, timeout=60, extra=["-smp", "4"])
    m, result = boot_smp(path)
    assert ref.exit_code is not None, f"QEMU did not finish {path.name}"
    assert ref.transcript, "empty transcript: nothing was compared"
    assert m.console.transcript.decode() == ref.transcript.decode()
    assert result.exit_code == ref.exit_code


def test_smp_probe_set_covers_psci_exclusives_sgis_and_timers():
    assert {"psci_cores", "sgi_timers", "coherence", "wfe_spinlock"} <= set(SMP_PROBES)


@pytest.mark.parametrize("quantum", [97, 10_000])
def test_the_count_survives_any_quantum_and_each_quantum_repeats_itself(built, quantum):
    """LDXR/STXR keep their guarantee however often the cores switch (97 instructions: every
    few loop iterations, often between an LDXR and its STXR), and a given quantum gives the
    same instruction counts every run."""
    path = built["smp_psci_cores"]
    m1, r1 = boot_smp(path, quantum=quantum)
    m2, r2 = boot_smp(path, quantum=quantum)
    assert r1.exit_code == 0, r1
    assert "counter=0x0000000000013880" in m1.console.text   # 4 cores x 20,000
    assert m1.console.transcript == m2.console.transcript
    assert [c.icount.retired for c in m1.cores] == [c.icount.retired for c in m2.cores]
    assert m1.clock.now() == m2.clock.now()


@pytest.mark.parametrize("at", [150_000, 400_000])
def test_a_snapshot_of_four_cores_resumes_to_the_same_run(built, tmp_path, at):
    """Paused with every core somewhere (at 150,000 instructions some are not started yet),
    saved, restored into a new machine and run to the end: the same transcript and the same
    per-core counts as the run that was never interrupted."""
    from emu.loader.elf import load_elf
    from emu.machine import Console, Machine
    from emu.snapshot import restore, save

    path = built["smp_psci_cores"]
    whole, r = boot_smp(path)
    m, r1 = boot_smp(path, max_insns=at)
    assert r1.stop.name == "INSN_LIMIT"
    save(m, tmp_path / "s.snap")
    m2 = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=4)
    m2.load(load_elf(str(path)))
    restore(m2, str(tmp_path / "s.snap"))
    r2 = m2.run(max_insns=50_000_000)
    assert r2.exit_code == r.exit_code == 0
    assert m.console.transcript + m2.console.transcript == whole.console.transcript
    assert [c.icount.retired for c in m2.cores] == [c.icount.retired for c in whole.cores]
    assert m2.clock.now() == whole.clock.now()


def test_a_snapshot_of_four_cores_does_not_restore_into_one_core(built, tmp_path):
    from emu.loader.elf import load_elf
    from emu.machine import Console, Machine
    from emu.snapshot import SnapshotError, restore, save

    m, _ = boot_smp(built["smp_psci_cores"], max_insns=100_000)
    save(m, tmp_path / "s.snap")
    one = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    one.load(load_elf(str(built["smp_psci_cores"])))
    with pytest.raises(SnapshotError) as err:
        restore(one, str(tmp_path / "s.snap"))
    assert "unexpected smp" in str(err.value)


@pytest.mark.parametrize("value", ["0", "5", "two", "-1"])
def test_impossible_core_counts_are_refused(value, tmp_path):
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "emu", "run", "--smp", value, str(tmp_path / "none.elf")],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "the number of cores is 1 to 4" in p.stderr
    assert "Traceback" not in p.stderr


def test_a_trace_names_the_core_of_every_line_and_sees_every_core(built):
    from emu.debug.trace import Tracer
    from emu.loader.elf import load_elf
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=4)
    out = io.StringIO()
    Tracer(m, "exceptions", out)
    m.load(load_elf(str(built["smp_sgi_timers"])))
    assert m.run(max_insns=50_000_000).exit_code == 0
    irqs = [ln.split()[1] for ln in out.getvalue().splitlines() if " IRQ " in ln]
    # SGI 1 and SGI 2 on each secondary, SGI 3 on core 0, then every core's timer.
    assert sorted(irqs) == sorted(["cpu1", "cpu2", "cpu3"] * 3 + ["cpu0"] * 2), out.getvalue()


def test_without_the_broadcast_the_coherence_probe_would_fail(built):
    """The probe does test the broadcast: with the SYS hook removed, core 1 keeps its stale
    translation and its stale code."""
    from emu.loader.elf import load_elf
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=2)
    for hook in m._sys_hooks:
        m.hooks.remove(hook)
    m.load(load_elf(str(built["smp_coherence"])))
    assert m.run(max_insns=10_000_000).exit_code == 0
    assert "after core 0 remapped it: 0x000000000000aaaa" in m.console.text
    assert "after core 0 patched it: 0x0000000000000001" in m.console.text


def test_the_timeline_has_two_tracks_per_core_and_each_core_s_interrupts_on_its_own(built, tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "t.json"
    p = subprocess.run([sys.executable, "-m", "emu", "run", "--smp", "4", "--timeline", str(out),
                        str(built["smp_sgi_timers"])], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    events = json.loads(out.read_text())["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    assert names == {2 * n + k: f"cpu{n}: {'EL / tenant' if k == 0 else 'traps to EL2'}" for n in range(4) for k in (0, 1)}
    irq_tracks = sorted(e["tid"] for e in events if e.get("cat") == "irq")
    assert irq_tracks == sorted([0, 0] + [2, 4, 6] * 3)   # as the trace counts them


def test_a_write_from_outside_the_cpus_reaches_code_another_core_translated(asm_image):
    """Core 1 calls a function over and over; the machine's own write path (loaders, DMA,
    the debugger) patches it while core 0 is the current core: core 1 runs the new code."""
    import struct

    from emu.machine import Console, Machine

    img = asm_image("""
    .include "smccc.inc"
_start:
    ldr     x0, =0xc4000003
    mov     x1, #1
    adr     x2, core1
    mov     x3, #0
    smc     #0
spin0:
    b       spin0
core1:
    adr     x20, result
again:
    bl      patched
    str     x0, [x20]
    b       again
    .balign 64
patched:
    movz    x0, #1
    ret
    .balign 8
result:
    .quad   0
""")
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=2)
    m.load(img)
    result, patched = img.symbols["result"], img.symbols["patched"]
    assert m.run(max_insns=200_000, pause_at_limit=True).paused
    assert struct.unpack("<Q", m.read_phys(result, 8))[0] == 1
    with m.viewing(0):
        m.write_phys(patched, struct.pack("<I", 0xD2800040))   # movz x0, #2
    m.run(max_insns=200_000, pause_at_limit=True)
    assert struct.unpack("<Q", m.read_phys(result, 8))[0] == 2
