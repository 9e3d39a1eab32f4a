"""``emu debug`` and ``emu run --gdb`` from the command line: startup, errors, the exit code."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from gdb_client import GdbClient

from emu.debug.gdbstub import parse_address
from emu.errors import EmuError

ROOT = Path(__file__).resolve().parents[2]


def emu(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "emu", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, **kw)


def listening_port(proc: subprocess.Popen) -> int:
    for line in proc.stderr:
        m = re.search(r"^emu: gdb server listening on 127\.0\.0\.1:(\d+)$", line.rstrip("\n"))
        if m:
            return int(m.group(1))
    raise AssertionError(f"no listening line; exit code {proc.wait(10)}")


@pytest.mark.parametrize("spec, want", [
    ("1234", ("127.0.0.1", 1234)),
    (":1234", ("127.0.0.1", 1234)),
    ("127.0.0.1:1234", ("127.0.0.1", 1234)),
    ("localhost:0", ("localhost", 0)),
    ("[::1]:1234", ("::1", 1234)),
])
def test_gdb_address_forms(spec, want):
    assert parse_address(spec) == want


@pytest.mark.parametrize("spec", ["", "abc", ":port", "1:2:x", "70000"])
def test_bad_gdb_address_is_an_error(spec):
    with pytest.raises(EmuError):
        parse_address(spec)


def test_emu_debug_with_a_bad_address_says_so_in_one_line(built):
    p = emu("debug", str(built["solo"]), "--gdb", "not-a-port")
    err = p.stderr.read()
    assert p.wait(30) == 2
    assert "--gdb: expected [HOST:]PORT" in err and "Traceback" not in err


def test_emu_debug_on_a_port_in_use_says_so_in_one_line(built):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        p = emu("debug", str(built["solo"]), "--gdb", f":{port}")
        err = p.stderr.read()
        assert p.wait(30) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err


def test_emu_run_gdb_waits_for_the_client_then_exits_with_the_guest_code(built):
    p = emu("run", str(built["solo"]), "--gdb", "127.0.0.1:0")
    try:
        c = GdbClient(listening_port(p))
        assert c.command("?") == b"T05thread:1;"
        reply = c.command("c")
        assert reply.startswith(b"W"), reply
        code = int(reply[1:], 16)
        c.close()
        assert p.wait(30) == code
        assert "Traceback" not in p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
