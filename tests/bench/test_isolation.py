"""``emu bench --isolation`` at a tiny scale (emu/bench_isolation.py, guest/iso/): every workload
ends cleanly bare at EL1 and as a tenant of the hypervisor, having done its work; its virtual
cost grows with its iterations and is the same on every run; ``--plot`` writes a PNG. No figure
of host time is checked: the machines are shared and noisy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from emu import bench, bench_isolation
from emu.bench_isolation import WORKLOADS, build_images, measure, plot, run_workload

SCALE = 1e-4           # 1 and 2 iterations (copy, resize, message), 1 and 10 (hvc, mmio), 100 and 10,000 (compute)
MASK = (1 << 64) - 1
PSCI_1_1 = 0x10001
UARTFR_EMPTY = 0x90    # TXFE | RXFE: the PL011 at rest, and what the hypervisor answers a tenant


def compute_result(n: int) -> int:
    x1 = x2 = 0
    for _ in range(n):
        x1 += 3
        x2 ^= x1
    return x2


def random_result(n: int) -> int:
    """The XOR of the first n xorshift64 values from guest/iso/random.s's seed."""
    r, acc = 0x2545F4914F6CDD1D, 0
    for _ in range(n):
        r ^= r << 13 & MASK
        r ^= r >> 7
        r ^= r << 17 & MASK
        acc ^= r
    return acc


def expected(name: str, side: str, n: int) -> int:
    return {
        "compute": compute_result(n),
        "copy": sum(range(0x100000 // 8)),          # the destination holds the source's indices
        "random": random_result(n),
        "hvc": PSCI_1_1 if side == "bare" else 0,   # PSCI_VERSION; HYP_TENANT_ID of tenant 0
        "mmio": UARTFR_EMPTY,
        "resize": 0,                                # every call 0, every message the expected kind
        "message": sum(3 * k + 1 for k in range(1, n + 1)),   # the ponger's answers to k = n..1
    }[name]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return build_images(tmp_path_factory.mktemp("iso"))


@pytest.fixture(scope="module")
def rows(images):
    return measure(scale=SCALE, repeat=1, images=images, dma=False)


def test_every_workload_ends_cleanly_on_both_sides_having_done_its_work(rows):
    assert [r.name for r in rows] == [w.name for w in WORKLOADS]
    for row in rows:
        for side, runs in row.runs.items():
            assert len(runs) == 2
            for run in runs:
                what = f"{row.name} {side} x{run.iterations}"
                assert run.result.exit_code == 0 and run.result.diagnostic is None, what
                assert run.value == expected(row.name, side, run.iterations), what
        bare, tenant = row.runs["bare"][0], row.runs["tenant"][0]
        assert bare.result.reason == "PSCI system off"              # the emulator's PSCI, over HVC at EL1
        assert tenant.result.reason == "semihosting exit (0)"       # the hypervisor, once its tenant is off
        assert "hyp: all tenants stopped, 0 contained" in tenant.console
        assert f"hyp: tenant 0 ({row.name}): system off" in tenant.console


def test_more_iterations_retire_more_instructions_and_take_more_ticks(rows):
    for row in rows:
        for side, (few, many) in row.runs.items():
            assert many.iterations > few.iterations
            assert many.retired > few.retired and many.ticks > few.ticks, f"{row.name} {side}"
        assert row.bare.insns > 0 and row.tenant.insns > 0


def test_a_tenant_that_never_traps_costs_what_it_costs_bare_in_virtual_time(rows):
    by_name = {r.name: r for r in rows}
    assert by_name["compute"].bare.insns == by_name["compute"].tenant.insns == 4
    for name in ("copy", "random"):
        row = by_name[name]
        few, many = row.runs["bare"]
        assert row.tenant.insns == row.bare.insns
        # The counter moves every 16 instructions, from where boot left it: a tick either way.
        # (Per-iteration figures are quotients: compare the whole difference, rounded to ticks.)
        assert round(abs(row.tenant.ticks - row.bare.ticks) * (many.iterations - few.iterations)) <= 1


def test_a_trapped_call_or_access_costs_the_hypervisor_s_handler(rows):
    by_name = {r.name: r for r in rows}
    assert by_name["hvc"].bare.insns == 4          # mov, hvc (answered by the emulator), subs, b.ne
    assert by_name["mmio"].bare.insns == 3
    for name in ("hvc", "mmio"):
        assert by_name[name].tenant.insns > 10 * by_name[name].bare.insns
    # The hypervisor's scrub alone stores as much as the bare zeroing, and it also cleans each line.
    assert by_name["resize"].tenant.insns > by_name["resize"].bare.insns


def test_the_resize_tenant_is_granted_and_releases_once_an_iteration(rows):
    resize = next(r for r in rows if r.name == "resize")
    for run in resize.runs["tenant"]:
        assert run.console.count("hyp: tenant 0 (resize): granted IPA 0x40200000-0x403fffff") == run.iterations
        assert run.console.count("hyp: tenant 0 (resize): released IPA 0x40200000-0x403fffff: scrubbed") \
            == run.iterations


def test_the_message_row_s_tenants_end_cleanly_and_every_message_is_answered(rows):
    message = next(r for r in rows if r.name == "message")
    for run in message.runs["tenant"]:
        # The ponger answered each k (the pinger's result is their sum: every message arrived, from
        # the right sender, every call succeeded), and ended at the last one.
        assert "hyp: tenant 1 (pong): system off" in run.console
        assert run.value == expected("message", "tenant", run.iterations)
        assert "refused" not in run.console
    # Each way the hypervisor copies the page a doubleword at a time (cmp, b.hs, ldr, str, add, b);
    # bare, a memcpy moves 64 bytes a turn in 12 instructions, and a few more compose and read it.
    assert 2 * 4096 // 8 * 6 < message.tenant.insns < 2 * 4096 * 5
    assert 2 * 4096 // 64 * 12 < message.bare.insns < 2 * (4096 // 64 * 12 + 32)


def test_virtual_time_is_the_same_on_every_run(images, rows):
    again = measure(scale=SCALE, repeat=1, images=images, dma=False)
    assert [(r.name, r.bare.insns, r.bare.ticks, r.tenant.insns, r.tenant.ticks) for r in again] == \
        [(r.name, r.bare.insns, r.bare.ticks, r.tenant.insns, r.tenant.ticks) for r in rows]
    hvc = next(w for w in WORKLOADS if w.name == "hvc")
    a, b = (run_workload(images, hvc, "tenant", 5) for _ in range(2))
    assert (a.retired, a.ticks) == (b.retired, b.ticks)


def test_plot_writes_a_png_of_the_normalised_table(rows, tmp_path):
    path = plot(rows, tmp_path / "plots")
    assert path == tmp_path / "plots" / "isolation.png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_emu_bench_isolation_prints_the_table_and_plots(images, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench_isolation, "build_images", lambda out_dir=None, names=None: images)
    assert bench.main(["--isolation", "hvc,dma", "--scale", str(SCALE), "--repeat", "1",
                       "--plot", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "hvc: HVC round trip" in out and "dma: 4 KiB DMA read" in out
    assert "compute:" not in out
    assert "message: bare is a plain page copy each way" in out
    assert (tmp_path / "isolation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_needs_isolation():
    with pytest.raises(SystemExit):
        bench.main(["--plot", "/nonexistent"])


def test_emu_and_its_benchmarks_start_without_matplotlib():
    code = ("import sys\nimport emu.cli, emu.bench, emu.bench_isolation\n"
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
