"""gdb sees every core as a thread: the thread list, each core's EL, a breakpoint hit by a
secondary reported with its thread, and registers read from the thread GDB selects."""

from __future__ import annotations

import io
import struct

import pytest
from gdb_client import ServerThread, frame

from emu.loader.elf import load_elf
from emu.machine import Console, Machine


@pytest.fixture
def smp(built):
    image = load_elf(str(built["smp_psci_cores"]))
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=4)
    m.load(image)
    srv = ServerThread(m)
    c = srv.client()
    yield m, image, c
    c.send_raw(frame(b"k"))
    c.close()
    srv.join()


def _pc(c) -> int:
    return struct.unpack("<Q", bytes.fromhex(c.command("p20").decode()))[0]


def test_four_cores_are_four_threads_and_a_secondary_stops_as_its_own(smp):
    m, image, c = smp
    assert c.command("qfThreadInfo") == b"m1,2,3,4"
    assert c.command("qC") == b"QC1"
    assert c.command("T4") == b"OK" and c.command("T5") == b"E01"
    assert bytes.fromhex(c.command("qThreadExtraInfo,2").decode()) == b"core 1, off"
    secondary = image.symbols["secondary"]
    assert c.command(f"Z0,{secondary:x},4") == b"OK"
    stop = c.command("c")
    assert stop.startswith(b"T05") and b"thread:2;" in stop          # core 1 starts first
    assert bytes.fromhex(c.command("qThreadExtraInfo,2").decode()) == b"core 1 at EL2"
    assert c.command("Hg2") == b"OK" and _pc(c) == secondary
    x0 = struct.unpack("<Q", bytes.fromhex(c.command("p0").decode()))[0]
    assert x0 == 0x101                                                 # its context ID
    assert c.command("Hg1") == b"OK" and _pc(c) != secondary           # core 0 is elsewhere
    # Core 0 started cores 2 and 3 in the same turn; they have not run yet.
    assert c.command("Hg3") == b"OK" and _pc(c) == secondary
    assert c.command("Hg4") == b"OK" and struct.unpack("<Q", bytes.fromhex(c.command("p0").decode()))[0] == 0x103


def test_monitor_commands_answer_for_the_selected_thread(smp):
    m, image, c = smp
    assert c.command(f"Z0,{image.symbols['secondary']:x},4") == b"OK"
    c.command("c")                                       # core 1 at its first instruction
    c.command("Hg2")
    assert c.monitor("tenant") == f"CPU at EL2 (hypervisor), PC {image.symbols['secondary']:#x}; this image has no tenants\n"
    c.command("Hg1")
    assert f"PC {image.symbols['secondary']:#x}" not in c.monitor("tenant")
