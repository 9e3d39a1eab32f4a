"""Snapshots: a restored run continues exactly as the uninterrupted one did."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from emu import snapshot
from emu.debug.trace import Tracer
from emu.loader.elf import load_elf
from emu.machine import Console, Machine
from emu.stop import Stop

ROOT = Path(__file__).resolve().parents[2]   # the checkout


def fresh(trace: io.StringIO | None = None) -> Machine:
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    if trace is not None:
        Tracer(m, "exceptions,hypercalls", trace, "json")
    return m


def pause_once_on(m: Machine, text: str) -> None:
    fired = []

    def watch(_data):
        if not fired and text in m.console.text:
            fired.append(1)
            m.pause(Stop.SNAPSHOT)

    m.console.listeners.append(watch)


@pytest.mark.parametrize("system, marker", [("demo", "[counter] count 2"), ("attack_write", "[counter] count 3")])
def test_restored_run_matches_the_uninterrupted_one(built, tmp_path, system, marker):
    # The reference: one uninterrupted run, traced.
    ref_trace = io.StringIO()
    ref = fresh(ref_trace)
    ref.load(load_elf(str(built[system])))
    ref_result = ref.run()

    # A run paused at the marker and saved, then a fresh machine restored from the file.
    first = fresh()
    first.load(load_elf(str(built[system])))
    pause_once_on(first, marker)
    assert first.run().paused
    path = tmp_path / "s.snap"
    snapshot.save(first, str(path))
    cut = len(first.console.transcript)

    trace = io.StringIO()
    restored = fresh(trace)
    snapshot.restore(restored, str(path))
    result = restored.run()

    assert result == ref_result
    assert restored.console.transcript == ref.console.transcript[cut:]
    # The trace after the cut is the tail of the uninterrupted trace, virtual timestamps included.
    tail = trace.getvalue().splitlines()
    assert tail and ref_trace.getvalue().splitlines()[-len(tail):] == tail


def test_snapshot_after_an_instruction_count_through_the_cli(built, tmp_path):
    snap = tmp_path / "n.snap"
    emu = [sys.executable, "-m", "emu", "run"]
    full = subprocess.run(emu + [str(built["demo"])], capture_output=True, cwd=ROOT, timeout=120)
    saved = subprocess.run(emu + [str(built["demo"]), "--snapshot-at", "20000", str(snap)],
                           capture_output=True, cwd=ROOT, timeout=120)
    assert saved.returncode == full.returncode == 1 and saved.stdout == full.stdout
    assert b"snapshot saved" in saved.stderr
    restored = subprocess.run(emu + ["--restore", str(snap)], capture_output=True, cwd=ROOT, timeout=120)
    assert restored.returncode == 1
    assert restored.stdout and full.stdout.endswith(restored.stdout)


@pytest.mark.parametrize("content, expect", [
    (b"", "bad magic"),
    (b"\x7fELF" + bytes(60), "bad magic"),
    (snapshot.MAGIC + b"\x05\x00\x00\x00{oops", "corrupt snapshot header"),
    (snapshot.MAGIC + b"\x0d\x00\x00\x00{\"version\":9}", "version 9"),
])
def test_corrupt_or_foreign_snapshot_is_refused(tmp_path, content, expect):
    path = tmp_path / "bad.snap"
    path.write_bytes(content)
    with pytest.raises(snapshot.SnapshotError, match=expect):
        snapshot.restore(fresh(), str(path))


def test_truncated_snapshot_is_refused_with_one_line(built, tmp_path):
    m = fresh()
    m.load(load_elf(str(built["solo"])))
    m.run(max_insns=5000, pause_at_limit=True)
    path = tmp_path / "t.snap"
    snapshot.save(m, str(path))
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    p = subprocess.run([sys.executable, "-m", "emu", "run", "--restore", str(path)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 2
    errors = [l for l in p.stderr.splitlines() if not l.startswith("emu: deterministic")]
    assert len(errors) == 1 and "corrupt snapshot" in errors[0] and "Traceback" not in p.stderr


def test_queued_uart_input_survives_a_snapshot(built, tmp_path):
    """The PL011's host input queue is device state: more than a header string's usual 4096
    characters of it restores, byte for byte."""
    m = fresh()
    m.load(load_elf(str(built["demo"])))
    data = bytes(range(256)) * 40
    m.devices["uart0"].queue_rx(data)
    assert m.run(max_insns=20_000, pause_at_limit=True).paused
    path = tmp_path / "q.snap"
    snapshot.save(m, str(path))
    restored = fresh()
    snapshot.restore(restored, str(path))
    uart = restored.devices["uart0"]
    assert uart.state() == m.devices["uart0"].state()
    assert uart.rx_queued + len(uart._rx) == len(data)
