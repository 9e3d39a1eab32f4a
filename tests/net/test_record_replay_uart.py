"""--record keeps the UART's input with the network's, and --replay gives it back: typed on a
terminal as the guest runs (guest/echo.s, which prints back each line), or given whole."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def emu(*args, **kw):
    return subprocess.run([sys.executable, "-m", "emu", "run", *map(str, args)], cwd=ROOT, capture_output=True,
                          timeout=120, **kw)


def test_what_a_terminal_typed_replays_at_the_same_points(built, tmp_path):
    rec = tmp_path / "uart.jsonl"
    master, slave = os.openpty()
    p = subprocess.Popen([sys.executable, "-m", "emu", "run", str(built["echo"]), "--input", "-", "--record", str(rec)],
                         cwd=ROOT, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(slave)
    for line in (b"first\n", b"second line\n", b"third\n"):
        time.sleep(0.2)                      # at host times the run cannot know in advance
        os.write(master, line)
    time.sleep(0.2)
    os.write(master, b"\x16\x04\n")         # Ctrl-V Ctrl-D: the byte 0x04 (echo.s ends), not end of input
    live, err = p.communicate(timeout=120)
    os.close(master)
    assert p.returncode == 0, err
    assert b"echo: first\n" in live and b"echo: third\n" in live
    assert '"uart"' in rec.read_text()
    replay = emu(built["echo"], "--replay", rec, stdin=subprocess.DEVNULL)
    assert replay.returncode == 0 and replay.stdout == live


def test_input_given_whole_is_recorded_and_replayed(built, tmp_path):
    rec = tmp_path / "uart.jsonl"
    live = emu(built["echo"], "--input", "-", "--record", rec, input=b"one\ntwo\n\x04")
    assert live.returncode == 0 and b"echo: two\n" in live.stdout
    replay = emu(built["echo"], "--replay", rec, stdin=subprocess.DEVNULL)
    assert replay.returncode == 0 and replay.stdout == live.stdout


def test_replay_refuses_input_of_its_own(built, tmp_path):
    rec = tmp_path / "empty.jsonl"
    rec.write_text("")
    r = emu(built["echo"], "--replay", rec, "--input", "x", stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and b"--replay gives back the recorded UART input" in r.stderr
