"""The TOE on a machine, end to end: a host client talks TCP to a bare-metal echo server
(guest/toe/echo.s) through a forwarded port; the run's network events, recorded, replay it to
the instruction with no network; and every bad option or recording is one line."""

from __future__ import annotations

import io
import json
import random
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from emu.devices.toe import LiveNet, ReplayNet
from emu.errors import EmuError
from emu.net import load_events

ROOT = Path(__file__).resolve().parents[2]


def machine(image, network, record=None):
    from emu.loader.elf import load_elf
    from emu.machine import Console, Machine

    m = Machine("virt,iommu=smmuv3,toe=on", console=Console(io.BytesIO(), echo=False), log=io.StringIO(),
                network=network, network_record=record)
    m.load(load_elf(str(image)))
    return m


def echo_client(port: int, data: bytes, out: dict) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        back = b""
        while chunk := c.recv(65536):
            back += chunk
    out["back"] = back


def test_a_host_client_is_echoed_and_the_recording_replays_to_the_instruction(built):
    data = random.Random(7).randbytes(200_000)
    net = LiveNet([("127.0.0.1", 0, 7000)])
    record: list = []
    m = machine(built["toe_echo"], net, record)
    out: dict = {}
    t = threading.Thread(target=echo_client, args=(net.ports[0], data, out))
    t.start()
    result = m.run(max_insns=2_000_000_000)
    t.join(30)
    net.shutdown()
    assert out["back"] == data                                   # every byte, in order
    assert result.exit_code == 0 and f"echoed=0x{len(data):016x}" in m.console.text
    assert {e[1] for e in record} >= {"accepted", "data", "eof", "sent"}

    replayed = machine(built["toe_echo"], ReplayNet(record))
    r2 = replayed.run(max_insns=2_000_000_000)
    assert r2 == result and replayed.console.transcript == m.console.transcript
    assert replayed.icount.retired == m.icount.retired and replayed.clock.now() == m.clock.now()


def test_record_and_replay_through_the_command_line(built, tmp_path):
    rec = tmp_path / "net.jsonl"
    p = subprocess.Popen([sys.executable, "-m", "emu", "run", str(built["toe_echo"]), "--toe",
                          "hostfwd=tcp::0-:7000", "--record", str(rec)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    port = None
    while port is None:
        line = p.stderr.readline().decode()
        assert line, "emu ended before it said which port it forwards"
        if m := re.search(r"emu: toe: 127\.0\.0\.1:(\d+) -> port 7000", line):
            port = int(m.group(1))
    out: dict = {}
    echo_client(port, b"hello, offload\n" * 1000, out)
    live, _ = p.communicate(timeout=120)
    assert p.returncode == 0 and out["back"] == b"hello, offload\n" * 1000
    assert all(json.loads(line) for line in rec.read_text().splitlines())
    replay = subprocess.run([sys.executable, "-m", "emu", "run", str(built["toe_echo"]), "--replay", str(rec)],
                            cwd=ROOT, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert replay.returncode == 0 and replay.stdout == live


@pytest.mark.parametrize("args,message", [
    (["--toe", "hostfwd=udp::1-:2"], "expected hostfwd=tcp:[HOST]:HPORT-:PORT"),
    (["--toe", "hostfwd=tcp:localhost:1-:2"], "'localhost' is not an IPv4 address"),
    (["--toe", "hostfwd=tcp::1-:0"], "ports are 1 to 65535"),
    (["--toe", "connect=10.0.0.0/33"], "is not an IPv4 network"),
    (["--toe", "smb=/tmp"], "expected hostfwd="),
    (["--replay", "/nonexistent/rec"], "--replay /nonexistent/rec: cannot read"),
    (["--replay", "REC", "--toe", "connect=127.0.0.0/8"], "--replay gives back a recorded run's inputs"),
    (["--toe", "hostfwd=tcp::0-:7000", "--record", "/nonexistent/dir/rec"], "--record /nonexistent/dir/rec: cannot write"),
])
def test_bad_network_options_are_one_line(built, tmp_path, args, message):
    rec = tmp_path / "rec"
    rec.write_text("")
    args = [str(rec) if a == "REC" else a for a in args]
    p = subprocess.run([sys.executable, "-m", "emu", "run", str(built["toe_echo"]), *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert p.returncode == 2 and len(lines) == 1 and message in lines[0], p.stderr


def test_a_mutated_recording_is_refused_in_one_line_or_replays(built, tmp_path):
    """Seeded: a valid recording, its lines mutated (bytes flipped, fields swapped, truncated,
    huge numbers). Each is refused by load_events with one line, or replays to an end."""
    good = [(6250, "accepted", 1, 0, 0x7F000001, 4000), (12500, "data", 1, b"abc"), (12500, "eof", 1),
            (18750, "sent", 1, 3)]
    lines = [json.dumps([{"hex": v.hex()} if isinstance(v, bytes) else v for v in e]) for e in good]
    rng = random.Random(1234)
    outcomes = {"refused": 0, "replayed": 0}
    for case in range(150):
        text = "\n".join(lines)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(text))
            choice = rng.random()
            if choice < 0.4:
                text = text[:i] + chr(rng.randrange(32, 127)) + text[i + 1:]
            elif choice < 0.6:
                text = text[:i]
            elif choice < 0.8:
                text = text.replace("1", str(rng.choice([-1, 16, 2 ** 64, 99999999])), 1)
            else:
                text = text[:i] + '"sent"' + text[i:]
        path = tmp_path / f"r{case}"
        path.write_text(text)
        try:
            events = load_events(path)
        except EmuError as err:
            assert "\n" not in str(err) and str(path) in str(err)
            outcomes["refused"] += 1
            continue
        m = machine(built["toe_echo"], ReplayNet(events))
        m.run(max_insns=3_000_000)                      # the server waits for more: the limit ends it
        outcomes["replayed"] += 1
    assert outcomes["refused"] and outcomes["replayed"]
