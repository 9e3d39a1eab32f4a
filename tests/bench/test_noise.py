"""``emu bench --isolation noise`` over a few milliseconds (emu/bench_noise.py, guest/noise/): the
detour tenant ends cleanly under the hypervisor's time slice and under a primary that schedules,
records its detours where the benchmark reads them, gets the same figures on every run, and the two
systems differ as docs/benchmarks.md says. No figure of host time is checked."""

from __future__ import annotations

import re

import pytest

from emu import bench, bench_noise
from emu.bench_noise import COUNTER_HZ, SYSTEMS, build_images, measure, plot, run_system

BUDGET_US = 6_000          # three detours with the busy tenant, six alone
QUANTUM = COUNTER_HZ // 1000   # 1 ms: the time slice, and the primary's timer
SUMMARY = re.compile(r"\[detour\] (\d+) reads in (\d+) us, threshold (\d+) ns: (\d+) detours, "
                     r"total (\d+) ns, largest (\d+) ns")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return build_images(tmp_path_factory.mktemp("noise"))


@pytest.fixture(scope="module")
def runs(images):
    return {d.label: d for d in measure(BUDGET_US, repeat=1, images=images)}


def ns(ticks: int) -> int:
    return ticks * 1_000_000_000 // COUNTER_HZ


def test_the_detour_tenant_ends_cleanly_in_both_systems_and_records_detours(runs):
    assert set(runs) == {"sliced", "primary", "sliced, alone", "primary, alone"}
    for label, d in runs.items():
        detour_index = 1 if d.system == "primary" else 0        # the primary is tenant 0
        assert f"hyp: tenant {detour_index} (detour): system off" in d.console, label
        assert "hyp: all tenants stopped, 0 contained" in d.console, label
        assert d.span == BUDGET_US * COUNTER_HZ // 1_000_000, label
        assert d.count > 0 and len(d.table) == d.count, label
        assert all(length > d.threshold for _, length in d.table), label
        assert [start for start, _ in d.table] == sorted(start for start, _ in d.table), label
        assert d.total == sum(length for _, length in d.table) and d.largest == max(l for _, l in d.table)
        # What it printed is what the benchmark read from its RAM.
        m = SUMMARY.search(d.console)
        assert m, label
        assert [int(g) for g in m.groups()] == [d.reads, BUDGET_US, ns(d.threshold), d.count, ns(d.total),
                                                 ns(d.largest)], label
    # The calibrated loop costs half a tick a read (eight instructions): a detour is over 2 ticks.
    assert {d.threshold for d in runs.values()} == {2}


def test_the_busy_tenant_and_the_primary_end_cleanly(runs):
    assert "hyp: tenant 1 (spin): system off" in runs["sliced"].console
    for label in ("primary", "primary, alone"):
        m = re.search(r"\[primary\] (\d+) runs: (\d+) preempted by our timer \((\d+) interrupts taken\), "
                      r"0 other returns", runs[label].console)
        assert m, label
        assert m.group(2) == m.group(3) != "0"      # every FFA_INTERRUPT was its own timer, taken


def test_the_figures_are_the_same_on_every_run(images, runs):
    for system in SYSTEMS:
        for busy in (True, False):
            again = run_system(images, system, BUDGET_US, busy)
            assert again.virtual() == runs[again.label].virtual(), again.label


def test_with_a_busy_tenant_each_detour_is_its_millisecond_and_the_scheduler_s_switches(runs):
    sliced, primary = runs["sliced"], runs["primary"]
    assert sliced.count == primary.count == BUDGET_US // 2000     # every other millisecond
    for d in (sliced, primary):
        assert all(QUANTUM < length < QUANTUM + 500 for _, length in d.table), d.label
    # Two passes through the primary (its interrupt, its FFA_RUN) cost more than two switches by
    # the hypervisor's own scheduler.
    assert min(l for _, l in primary.table) > max(l for _, l in sliced.table)
    assert primary.lost > sliced.lost


def test_alone_the_detours_are_the_scheduler_s_own_every_millisecond(runs):
    sliced, primary = runs["sliced, alone"], runs["primary, alone"]
    assert sliced.count == primary.count == BUDGET_US // 1000
    # The hypervisor's tick is the same few hundred instructions each time; so is the primary's.
    assert len({length for _, length in sliced.table}) == 1
    assert sliced.largest < 100
    starts = [start for start, _ in sliced.table]
    # The next slice is armed on the way out of the tick: a quantum and part of a tick apart.
    assert all(QUANTUM < b - a <= QUANTUM + sliced.largest for a, b in zip(starts, starts[1:]))
    # A round trip through the primary costs several ticks of the hypervisor's.
    assert min(l for _, l in primary.table) > 3 * sliced.largest
    assert primary.lost > 3 * sliced.lost
    assert primary.lost < 0.01


def test_plot_writes_a_png_of_the_detours(runs, tmp_path):
    path = plot(list(runs.values()), tmp_path / "plots")
    assert path == tmp_path / "plots" / "detours.png"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_emu_bench_isolation_noise_prints_the_figures_and_plots(images, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench_noise, "build_images", lambda out_dir=None: images)
    scale = BUDGET_US / bench_noise.BUDGET_US
    assert bench.main(["--isolation", "noise", "--scale", str(scale), "--repeat", "1",
                       "--plot", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "selfish detours of a tenant over 6 ms of virtual time" in out
    for label in ("sliced ", "primary ", "sliced, alone", "primary, alone"):
        assert re.search(rf"^{label}", out, re.M), label
    assert "isolation costs" not in out
    assert (tmp_path / "detours.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "isolation.png").exists()
