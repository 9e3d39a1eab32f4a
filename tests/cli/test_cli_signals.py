"""SIGINT and SIGTERM at any moment end ``emu`` with one line and 130/143, and the trace,
timeline and console files asked for are written out; never a traceback, an abort or a hang."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]   # the checkout

BANNER = "emu: deterministic time:"


class Emu:
    """``python -m emu ARGS`` with stderr read line by line on a thread (so a wait for a line
    cannot hang the test) and stdout collected."""

    def __init__(self, *args, stdin=subprocess.DEVNULL, cwd=ROOT):
        self.p = subprocess.Popen([sys.executable, "-m", "emu", *map(str, args)], cwd=cwd, stdin=stdin,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue = queue.Queue()
        self.err: list[str] = []
        self.out = bytearray()
        self._readers = [threading.Thread(target=self._read_err, daemon=True),
                         threading.Thread(target=self._read_out, daemon=True)]
        for t in self._readers:
            t.start()

    def _read_err(self):
        for raw in self.p.stderr:
            line = raw.decode("utf-8", "replace")
            self.err.append(line)
            self.lines.put(line)

    def _read_out(self):
        for chunk in iter(lambda: self.p.stdout.read1(65536), b""):
            self.out += chunk

    def wait_for(self, prefix: str, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                self.p.kill()
                raise AssertionError(f"no line starting {prefix!r}; stderr: {''.join(self.err)!r}")
            if line.startswith(prefix):
                return

    def wait_blocked(self, sig: int = signal.SIGINT, timeout: float = 60) -> None:
        """Until the process has reached emu's main() and taken the signals from its main thread."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                status = open(f"/proc/{self.p.pid}/status").read()
            except FileNotFoundError:
                break
            blocked = int(next(l for l in status.splitlines() if l.startswith("SigBlk:")).split()[1], 16)
            if blocked >> (sig - 1) & 1:
                return
            time.sleep(0.002)
        self.p.kill()
        raise AssertionError(f"emu never blocked signal {sig}; stderr: {''.join(self.err)!r}")

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        try:
            code = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise AssertionError(f"emu hung after the signal; stderr: {''.join(self.err)!r}")
        for t in self._readers:
            t.join(10)
        return code, "".join(self.err)


def last_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    return [l for l in stderr.splitlines() if l.strip() and not l.startswith(BANNER)]


@pytest.fixture(scope="module")
def loops(tmp_path_factory):
    """Raw EL2 programs that never end: one spins natively, one writes to the UART for ever
    (a Python MMIO callback per store, where a KeyboardInterrupt used to land)."""
    from emu.build.asm import assemble

    d = tmp_path_factory.mktemp("loops")
    sources = {
        "spin": "_start:\n    b _start\n",
        "flood": ('    .include "board.inc"\n_start:\n    ldr x1, =UART0_BASE\nloop:\n    mov w0, #0x61\n'
                  "    strb w0, [x1]\n    mov w0, #0x0a\n    strb w0, [x1]\n    b loop\n"),
    }
    out = {}
    for name, text in sources.items():
        (d / f"{name}.s").write_text(text)
        image = assemble(d / f"{name}.s", 0x40200000, [ROOT / "firmware" / "include"])
        (d / f"{name}.bin").write_bytes(b"".join(s.data for s in image.segments))
        out[name] = d / f"{name}.bin"
    return out


def raw(path):
    return [path, "--raw", "0x40200000"]


def test_sigint_while_loading_ends_at_once_with_130(built):
    # Blocked reading --input from a pipe that never ends: no machine exists yet.
    e = Emu("run", built["solo"], "--input", "-", stdin=subprocess.PIPE)
    e.wait_blocked()
    e.p.send_signal(signal.SIGINT)
    code, err = e.finish()
    e.p.stdin.close()
    assert code == 130 and last_lines(err) == ["emu: interrupted"]
    assert BANNER not in err


@pytest.mark.parametrize("attempt", range(4))
def test_sigint_as_soon_as_emu_starts_is_never_an_abort(built, attempt):
    # In lief's import and ELF parsing a KeyboardInterrupt aborted the process (nanobind).
    e = Emu("run", built["solo"], "--max-insns", "2000000")
    e.wait_blocked()
    time.sleep(0.01 * attempt)
    e.p.send_signal(signal.SIGINT)
    code, err = e.finish()
    assert code == 130 and last_lines(err)[-1] == "emu: interrupted"


@pytest.mark.parametrize("program, delay", [("spin", 0.0), ("spin", 0.3), ("flood", 0.0), ("flood", 0.05),
                                            ("flood", 0.2), ("flood", 0.5)])
def test_sigint_during_the_run_stops_it_with_130(loops, program, delay):
    e = Emu("run", *raw(loops[program]))
    e.wait_for(BANNER)
    time.sleep(delay)
    e.p.send_signal(signal.SIGINT)
    code, err = e.finish()
    assert code == 130 and last_lines(err) == ["emu: interrupted"]


def test_sigterm_during_the_run_exits_143(loops):
    e = Emu("run", *raw(loops["flood"]))
    e.wait_for(BANNER)
    time.sleep(0.2)
    e.p.send_signal(signal.SIGTERM)
    code, err = e.finish()
    assert code == 143 and last_lines(err) == ["emu: terminated"]


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_writes_its_timeline_trace_and_console_files(loops, tmp_path, sig, code):
    e = Emu("run", *raw(loops["flood"]), "--timeline", tmp_path / "t.json", "--console-file", tmp_path / "c.txt",
            "--trace", "mmio", "--trace-file", tmp_path / "trace.txt")
    e.wait_for(BANNER)
    time.sleep(0.3)
    e.p.send_signal(sig)
    got, err = e.finish()
    assert got == code
    timeline = json.loads((tmp_path / "t.json").read_text())
    assert timeline["traceEvents"] and timeline["otherData"]["clock"] == "deterministic"
    console = (tmp_path / "c.txt").read_bytes()
    assert console.startswith(b"a\na\n") and console == bytes(e.out)
    trace = (tmp_path / "trace.txt").read_text().splitlines()
    assert trace and trace[-1].endswith("(1 bytes, write)")
    assert len(trace) == len(console)   # one line per UARTDR store, one byte each


def test_sigint_before_the_snapshot_trigger_saves_no_snapshot(loops, tmp_path):
    e = Emu("run", *raw(loops["spin"]), "--snapshot-at", "never seen", tmp_path / "s.snap")
    e.wait_for(BANNER)
    e.p.send_signal(signal.SIGINT)
    code, err = e.finish()
    assert code == 130 and last_lines(err) == ["emu: interrupted"]
    assert list(tmp_path.iterdir()) == []


def test_a_second_signal_ends_a_stuck_shutdown_at_once(loops, tmp_path):
    # The console goes to a FIFO whose reader never reads: the run blocks in a write, so the
    # first signal cannot stop it; the second one ends the process.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        e = Emu("run", *raw(loops["flood"]), "--console-file", fifo)
        e.wait_for(BANNER)
        end = time.monotonic() + 60
        while "pipe_write" not in open(f"/proc/{e.p.pid}/wchan").read():   # the pipe is full
            assert time.monotonic() < end, "the console never filled the FIFO"
            time.sleep(0.01)
        e.p.send_signal(signal.SIGINT)
        time.sleep(0.3)
        assert e.p.poll() is None
        e.p.send_signal(signal.SIGINT)
        code, err = e.finish()
    finally:
        os.close(reader)
    assert code == 130 and last_lines(err)[-1] == "emu: interrupted"


@pytest.mark.parametrize("sig, code, what", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_signals_end_emu_debug_waiting_for_gdb(built, sig, code, what):
    e = Emu("debug", built["solo"], "--gdb", "127.0.0.1:0")
    e.wait_for("emu: gdb server listening")
    e.p.send_signal(sig)
    got, err = e.finish()
    assert got == code and last_lines(err)[-1] == f"emu: {what}"
