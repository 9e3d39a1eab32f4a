"""Starting emu with the TOE on real host TCP, for the tests of this directory."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORWARDS = "hostfwd=tcp::0-:7000,hostfwd=tcp::0-:7001"     # host ports chosen by the host


def start(*args: str) -> tuple[subprocess.Popen, dict[int, int]]:
    """``python -m emu ARGS`` with TOE ports 7000 and 7001 forwarded to free host ports; returns
    the process and {TOE port: host port} as emu announces them on stderr."""
    p = subprocess.Popen([sys.executable, "-m", "emu", *args, "--toe", FORWARDS], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    ports: dict[int, int] = {}
    while len(ports) < 2:
        line = p.stderr.readline().decode()
        assert line, "emu ended before it said which ports it forwards"
        if m := re.search(r"emu: toe: 127\.0\.0\.1:(\d+) -> port (\d+)", line):
            ports[int(m.group(2))] = int(m.group(1))
    return p, ports


def read_until(p: subprocess.Popen, *needles: str) -> list[str]:
    """Lines of ``p``'s stdout up to the one where the last of ``needles`` has appeared."""
    lines: list[str] = []
    while not all(any(n in line for line in lines) for n in needles):
        line = p.stdout.readline().decode()
        assert line, f"emu ended before it printed {needles}"
        lines.append(line)
    return lines
