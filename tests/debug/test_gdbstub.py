"""The GDB server against a real Machine, driven by a scripted client over a loopback socket."""

from __future__ import annotations

import io
import re
import struct
import time
import xml.etree.ElementTree as ET

import pytest
from gdb_client import GdbClient, ServerThread

from emu.debug import gdbregs
from emu.debug.gdbproto import PACKET_SIZE, frame
from emu.debug.gdbstub import MAX_QUEUED_WHILE_RUNNING
from emu.errors import EmuError
from emu.machine import Console, Machine

PC = gdbregs.BY_NAME["pc"]
X0 = gdbregs.BY_NAME["x0"]
G_BYTES = 31 * 8 + 8 + 8 + 4 + 32 * 16 + 4 + 4   # x0-x30, sp, pc, cpsr, v0-v31, fpsr, fpcr

# Counts to 3 in x0, stores it, loads it back, takes an HVC to its own EL2 vector and exits
# with code 7 through semihosting.
PROGRAM = """
    .include "board.inc"
    .include "smccc.inc"
_start:
    adr     x0, vectors
    msr     vbar_el2, x0
    mov     x0, #0
loop:
    add     x0, x0, #1
    cmp     x0, #3
    b.ne    loop
store:
    adr     x1, data
    str     x0, [x1]
load:
    ldr     x2, [x1]
    hvc     #7
after_hvc:
    mov     x0, #7
    adr     x1, exit_block
    str     x0, [x1, #8]
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000
    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
data:
    .quad   0
    .balign 0x800
vectors:
    .skip   0x200
sync_cur_spx:
    eret
"""

SPIN = """
_start:
    mov     x0, #0
spin:
    add     x0, x0, #1
    b       spin
"""


def _machine(image) -> Machine:
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(image)
    return m


@pytest.fixture
def program(asm_image):
    img = asm_image(PROGRAM)
    srv = ServerThread(_machine(img))
    clients: list[GdbClient] = []

    def connect() -> GdbClient:
        c = srv.client()
        clients.append(c)
        return c

    yield img, srv, connect
    for c in clients:
        c.close()
    srv.stop()


@pytest.fixture
def spin(asm_image):
    img = asm_image(SPIN)
    srv = ServerThread(_machine(img))
    yield img, srv
    srv.stop()


def resume(c: GdbClient, packet: bytes = b"c") -> None:
    """Send a packet that starts the guest; its stop reply comes later."""
    c.send_raw(frame(packet))
    assert c.read_ack()


def reg(c: GdbClient, regno: int) -> int:
    reply = c.command(b"p%x" % regno)
    return int.from_bytes(bytes.fromhex(reply.decode()), "little")


# -- attaching and reading state ------------------------------------------------------------

def test_attach_stops_at_the_entry_point_at_el2_before_any_instruction(program):
    img, srv, connect = program
    c = connect()
    assert c.command("?") == b"T05thread:1;"
    assert reg(c, PC) == img.entry
    assert reg(c, gdbregs.BY_NAME["CurrentEL"]) == 2 << 2
    assert reg(c, gdbregs.BY_NAME["cpsr"]) & 0xF == 0b1001  # EL2h


def test_g_packet_carries_core_and_fp_registers_in_xml_order(program):
    img, srv, connect = program
    c = connect()
    g = bytes.fromhex(c.command("g").decode())
    assert len(g) == G_BYTES
    assert struct.unpack_from("<Q", g, 32 * 8)[0] == img.entry


def test_register_write_reads_back(program):
    _, _, connect = program
    c = connect()
    assert c.command(b"P%x=%s" % (X0, (5).to_bytes(8, "little").hex().encode())) == b"OK"
    assert reg(c, X0) == 5
    v1 = gdbregs.BY_NAME["v1"]
    value = (1 << 127) | 0x1234
    assert c.command(b"P%x=%s" % (v1, value.to_bytes(16, "little").hex().encode())) == b"OK"
    assert reg(c, v1) == value


def test_read_only_and_unknown_registers_are_refused(program):
    _, _, connect = program
    c = connect()
    assert c.command(b"P%x=%s" % (gdbregs.BY_NAME["CurrentEL"], b"00" * 8)) == b"E01"
    assert c.command(b"p%x" % len(gdbregs.REGISTERS)) == b"E01"
    assert c.command(b"P0=12") == b"E01"  # wrong size
    assert c.command(b"Pzz=00") == b"E01"


def test_system_register_write_reaches_the_cpu(program):
    _, srv, connect = program
    c = connect()
    vbar = gdbregs.BY_NAME["VBAR_EL1"]
    assert c.command(b"P%x=%s" % (vbar, (0x40280000).to_bytes(8, "little").hex().encode())) == b"OK"
    assert srv.server.m.cpu.read_sysreg("VBAR_EL1") == 0x40280000


def test_timer_registers_come_from_the_machine_timer(program):
    _, srv, connect = program
    c = connect()
    assert reg(c, gdbregs.BY_NAME["CNTVCT_EL0"]) == srv.server.m.timer.read("CNTVCT_EL0")
    assert reg(c, gdbregs.BY_NAME["CNTFRQ_EL0"]) == srv.server.m.timer.read("CNTFRQ_EL0")


def test_memory_read_returns_the_image_bytes(program):
    img, _, connect = program
    c = connect()
    seg = img.segments[0]
    reply = c.command(b"m%x,10" % seg.addr)
    assert bytes.fromhex(reply.decode()) == seg.data[:16]


def test_memory_read_of_devices_or_holes_is_E01(program):
    _, _, connect = program
    c = connect()
    assert c.command("m9000000,4") == b"E01"    # the PL011: reading it could pop its FIFO
    assert c.command("m30000000,4") == b"E01"   # nothing there
    assert c.command("mffffffffffffffff,10") == b"E01"


def test_huge_memory_read_is_capped_to_the_packet_size(program):
    img, _, connect = program
    c = connect()
    reply = c.command(b"m%x,100000" % img.entry)
    assert 0 < len(reply) <= PACKET_SIZE


def test_memory_read_stops_at_the_end_of_ram(program):
    _, srv, connect = program
    c = connect()
    ram = srv.server.m.board.ram
    reply = c.command(b"m%x,10" % (ram.base + ram.size - 4))
    assert len(reply) == 8


def test_memory_writes_hex_and_binary_with_escaped_bytes(program):
    _, _, connect = program
    c = connect()
    assert c.command("M40280000,4:deadbeef") == b"OK"
    assert c.command("m40280000,4") == b"deadbeef"
    data = b"}#$*\x00\x03"
    assert c.command(b"X40280010,%x:" % len(data) + data) == b"OK"
    assert bytes.fromhex(c.command("m40280010,6").decode()) == data
    assert c.command("X40280000,0:") == b"OK"  # GDB's probe for X support
    assert c.command("M9000000,1:00") == b"E01"


def test_physical_addressing_switch(program):
    _, srv, connect = program
    c = connect()
    assert "physical" in c.monitor("phys on")
    assert srv.server.phys
    assert "virtual" in c.monitor("phys off")
    assert "usage" in c.monitor("phys sideways")


# -- running ----------------------------------------------------------------------------------

def test_breakpoint_stops_before_the_instruction_and_continue_steps_off_it(program):
    img, _, connect = program
    c = connect()
    loop = img.symbols["loop"]
    assert c.command(b"Z0,%x,4" % loop) == b"OK"
    assert c.command("c") == b"T05swbreak:;thread:1;"
    assert reg(c, PC) == loop and reg(c, X0) == 0
    assert c.command("c") == b"T05swbreak:;thread:1;"
    assert reg(c, PC) == loop and reg(c, X0) == 1
    assert c.command(b"z0,%x,4" % loop) == b"OK"
    assert c.command("c") == b"W07"


def test_hardware_breakpoint_reports_hwbreak(program):
    img, _, connect = program
    c = connect()
    assert c.command(b"Z1,%x,4" % img.symbols["store"]) == b"OK"
    assert c.command("vCont;c") == b"T05hwbreak:;thread:1;"
    assert reg(c, PC) == img.symbols["store"]


def test_breakpoint_already_translated_code_still_hits(program):
    img, _, connect = program
    c = connect()
    after = img.symbols["load"]
    assert c.command(b"Z0,%x,4" % after) == b"OK"
    assert c.command("c") == b"T05swbreak:;thread:1;"
    # The loop has run (and been translated) by now; a breakpoint in it must still fire.
    assert c.command(b"Z0,%x,4" % img.symbols["after_hvc"]) == b"OK"
    assert c.command("c") == b"T05swbreak:;thread:1;"
    assert reg(c, PC) == img.symbols["after_hvc"]


def test_single_step_runs_exactly_one_instruction(program):
    img, _, connect = program
    c = connect()
    pcs = []
    for _ in range(6):
        assert c.command("s") == b"T05thread:1;"
        pcs.append(reg(c, PC))
    loop = img.symbols["loop"]
    e = img.entry
    # adr, msr, mov, then the loop: add, cmp, b.ne (taken, back to add).
    assert pcs == [e + 4, e + 8, loop, loop + 4, loop + 8, loop]
    assert c.command("vCont;s:1") == b"T05thread:1;"
    assert reg(c, PC) == loop + 4


def test_step_into_an_exception_stops_at_the_vector(program):
    img, _, connect = program
    c = connect()
    hvc = img.symbols["load"] + 4
    assert c.command(b"Z0,%x,4" % hvc) == b"OK"
    assert c.command("c") == b"T05swbreak:;thread:1;"
    assert c.command("s") == b"T05thread:1;"
    assert reg(c, PC) == img.symbols["sync_cur_spx"]
    assert reg(c, gdbregs.BY_NAME["ESR_EL2"]) >> 26 == 0x16  # EC_HVC64


def test_write_watchpoint_stops_right_after_the_store(program):
    img, _, connect = program
    c = connect()
    data = img.symbols["data"]
    assert c.command(b"Z2,%x,8" % data) == b"OK"
    assert c.command("c") == b"T05watch:%x;thread:1;" % data
    assert reg(c, PC) == img.symbols["load"]  # the str (after the adr at 'store') has written
    assert c.command(b"m%x,8" % data) == b"03" + b"00" * 7
    # GDB steps over the access it believes has not happened yet: nothing more must run.
    assert c.command("s") == b"T05thread:1;"
    assert reg(c, PC) == img.symbols["load"]
    assert c.command("s") == b"T05thread:1;"   # a step after that is a real one
    assert reg(c, PC) == img.symbols["load"] + 4
    assert c.command("c") == b"W07"


def test_read_watchpoint_sees_an_access_that_overlaps_its_range(program):
    img, _, connect = program
    c = connect()
    data = img.symbols["data"]
    assert c.command(b"Z3,%x,4" % (data + 4)) == b"OK"   # the 8-byte load covers it
    assert c.command("c") == b"T05rwatch:%x;thread:1;" % (data + 4)
    assert reg(c, PC) == img.symbols["load"] + 4
    assert reg(c, gdbregs.BY_NAME["x2"]) == 3
    assert c.command(b"z3,%x,4" % (data + 4)) == b"OK"
    assert c.command("c") == b"W07"


def test_access_watchpoint_fires_on_the_store_then_the_load(program):
    img, _, connect = program
    c = connect()
    data = img.symbols["data"]
    assert c.command(b"Z4,%x,8" % data) == b"OK"
    assert c.command("c") == b"T05awatch:%x;thread:1;" % data
    assert reg(c, PC) == img.symbols["load"]
    assert c.command("c") == b"T05awatch:%x;thread:1;" % data
    assert reg(c, PC) == img.symbols["load"] + 4
    assert c.command(b"z4,%x,8" % data) == b"OK"
    assert c.command("c") == b"W07"


def test_watchpoint_on_a_device_register_does_not_repeat_the_access(asm_image):
    img = asm_image("""
_start:
    ldr     x1, =0x09000000
    mov     w0, #0x41
    strb    w0, [x1]
    mov     w0, #0x42
    strb    w0, [x1]
    b       .
""")
    m = _machine(img)
    srv = ServerThread(m)
    try:
        c = srv.client()
        assert c.command("Z2,9000000,1") == b"OK"
        assert c.command("c") == b"T05watch:9000000;thread:1;"
        assert c.command("c") == b"T05watch:9000000;thread:1;"
        assert bytes(m.console.transcript) == b"AB"
        c.close()
    finally:
        srv.stop()


def test_trap_on_stops_at_each_entry_to_el2_and_prints_the_syndrome(program):
    img, _, connect = program
    c = connect()
    assert "trap on" in c.monitor("trap on")
    c.console = ""
    assert c.command("c") == b"T05thread:1;"
    assert reg(c, PC) == img.symbols["sync_cur_spx"]
    assert "EC_HVC64" in c.console and "ESR_EL2=0x5a000007" in c.console
    assert "trap off" in c.monitor("trap off")
    assert c.command("c") == b"W07"


def test_a_trap_stop_that_cannot_be_described_is_still_reported(program, monkeypatch):
    # Fuzz finding: with 'monitor trap on', a step at PC 0xfffffffffffffffe entered EL2 and
    # reading the faulting instruction for the trap line raised; the server died with it.
    img, srv, connect = program
    c = connect()
    assert c.command(b"Z0,%x,4" % img.symbols["loop"]) == b"OK"
    assert c.command("c") == b"T05swbreak:;thread:1;"   # VBAR_EL2 is set by now
    c.monitor("trap on")

    def unreadable(addr, el=None):
        raise EmuError(f"physical address {addr:#x} (4 bytes) is not memory")

    monkeypatch.setattr(srv.server.m, "disassemble", unreadable)
    c.console = ""
    assert c.command(b"z0,%x,4" % img.symbols["loop"]) == b"OK"
    assert c.command(b"P%x=%s" % (PC, (0xFFFFFFFFFFFFFFFC).to_bytes(8, "little").hex().encode())) == b"OK"
    assert c.command("s") == b"T05thread:1;"
    assert reg(c, PC) == img.symbols["sync_cur_spx"]   # an instruction abort, taken at EL2
    assert "trap: exception entry to EL2" in c.console and "is not memory" in c.console
    assert c.command("qC") == b"QC1"


def test_exit_is_reported_and_ends_the_server_when_the_client_leaves(program):
    _, srv, connect = program
    c = connect()
    assert c.command("c") == b"W07"
    assert c.command("c") == b"W07"  # nothing left to run
    assert c.command("?") == b"W07"
    c.close()
    assert srv.join() == 7


def test_ctrl_c_interrupts_a_running_guest(spin):
    img, srv = spin
    c = srv.client()
    counts = []
    for _ in range(2):
        resume(c)
        time.sleep(0.2)
        c.send_raw(b"\x03")
        assert c.read_packet() == b"T02thread:1;"
        counts.append(reg(c, X0))
    assert 0 < counts[0] < counts[1]  # resumed where it stopped, and ran on
    c.close()


def test_ctrl_c_in_the_same_write_as_the_continue_stops_the_guest(spin):
    _, srv = spin
    c = srv.client()
    c.send_raw(frame(b"c") + b"\x03")
    assert c.read_ack()
    assert c.read_packet() == b"T02thread:1;"
    c.close()


def test_ctrl_c_behind_a_packet_sent_mid_run_still_stops_the_guest(spin):
    _, srv = spin
    c = srv.client()
    resume(c)
    time.sleep(0.1)
    # GDB sends nothing but Ctrl-C while the guest runs; a client that does must not be able to
    # hide its Ctrl-C behind the packet. The packet is answered after the stop.
    c.send_raw(frame(b"qC") + b"\x03")
    assert c.read_packet() == b"T02thread:1;"
    assert c.read_packet() == b"QC1"
    assert c.command("?") == b"T02thread:1;"
    c.close()


def test_continue_with_a_signal_at_pc_1_leaves_the_server_answering(spin):
    # Fuzz finding: '$C05;1' resumed at a PC that is not 4-aligned and the run never ended;
    # with a packet behind it, a Ctrl-C then got no answer. Whether the guest stops by itself
    # (a PC alignment fault) or runs until interrupted, the client gets a stop and a reply.
    _, srv = spin
    c = srv.client()
    resume(c, b"C05;1")
    c.send_raw(frame(b"qC") + b"\x03")
    stop = c.read_packet()
    assert re.fullmatch(rb"T[0-9a-f]{2}thread:1;", stop), stop
    assert c.read_packet() == b"QC1"
    assert c.command("?") == stop
    assert len(c.command("g")) == 2 * G_BYTES
    assert "Traceback" not in srv.log.getvalue()
    c.close()


def test_packets_queued_mid_run_are_bounded_and_the_rest_refused(spin):
    _, srv = spin
    c = srv.client()
    resume(c)
    extra = 5
    c.send_raw(frame(b"qC") * (MAX_QUEUED_WHILE_RUNNING + extra))
    for _ in range(extra):
        assert c.read_ack() is False   # refused: send it again after the stop
    c.send_raw(b"\x03")
    assert c.read_packet() == b"T02thread:1;"
    for _ in range(MAX_QUEUED_WHILE_RUNNING):
        assert c.read_ack()
        assert c.read_packet() == b"QC1"
    assert c.command("?") == b"T02thread:1;"
    c.close()


def test_client_leaving_mid_run_leaves_the_machine_paused_for_the_next(spin):
    img, srv = spin
    c = srv.client()
    resume(c)
    time.sleep(0.2)
    c.close()
    c2 = srv.attach()
    reply = c2.command("?")
    assert reply == b"T02thread:1;"
    assert reg(c2, PC) in (img.symbols["spin"], img.symbols["spin"] + 4)
    c2.close()
    assert "disconnected" in srv.log.getvalue()


def test_client_leaving_mid_packet_does_not_stop_the_server(program):
    _, srv, connect = program
    c = connect()
    c.send_raw(b"$m4020")
    c.close()
    c2 = srv.attach()
    assert c2.command("?") == b"T05thread:1;"
    c2.close()


def test_second_client_is_turned_away_while_one_is_attached(program):
    _, srv, connect = program
    c = connect()
    assert c.command("?") == b"T05thread:1;"
    other = GdbClient(srv.port)
    assert other.read_packet() == b"E01"
    assert "another gdb client" in other.console
    other.close()
    assert c.command("qC") == b"QC1"


def test_kill_ends_the_server(program):
    _, srv, connect = program
    c = connect()
    c.send_raw(frame(b"k"))
    assert srv.join() == 0
    assert "killed" in srv.log.getvalue()


def test_detach_lets_the_guest_run_to_its_end(program):
    _, srv, connect = program
    c = connect()
    assert c.command("D") == b"OK"
    assert srv.join() == 7


# -- protocol robustness ----------------------------------------------------------------------

def test_bad_checksum_is_answered_with_a_nak(program):
    _, _, connect = program
    c = connect()
    c.send_raw(b"$g#00")
    assert c.read_ack() is False
    assert c.command("qC") == b"QC1"


def test_nak_from_the_client_gets_the_reply_again(program):
    _, _, connect = program
    c = connect()
    c.send_raw(frame(b"qC"))
    assert c.read_ack()
    first = c.next_event()
    c.send_raw(b"-")
    again = c.next_event()
    assert first == again
    c.send_raw(b"+")


@pytest.mark.parametrize("packet, reply", [
    ("vMustReplyEmpty", b""),
    ("qTStatus", b""),
    ("!", b""),
    ("m", b"E01"),
    ("mzz,4", b"E01"),
    ("m40200000", b"E01"),
    ("M40200000,4:zz", b"E01"),
    ("M40200000,4:00", b"E01"),
    ("X40200000,4", b"E01"),
    ("G00", b"E01"),
    ("Z0,zz,4", b"E01"),
    ("Z0", b"E01"),
    ("Z9,40200000,4", b""),
    ("Z2,40200000,0", b"E01"),
    ("Hg2", b"E01"),
    ("Hgzz", b"E01"),
    ("T2", b"E01"),
    ("qRcmd,zz", b"E01"),
    ("qXfer:features:read:other.xml:0,100", b"E00"),
    ("qXfer:features:read:target.xml:zz", b"E01"),
    ("vCont;x", b"E01"),
    ("vCont;c:2", b"E01"),
    ("czz", b"E01"),
    # Numbers are hex digits only, within 64 bits (int() would take a sign, 0x, '_', spaces).
    ("c-4", b"E01"),
    ("s0x40200000", b"E01"),
    ("c1_0", b"E01"),
    ("c10000000000000000", b"E01"),
    ("C;40200000", b"E01"),
    ("Czz;40200000", b"E01"),
    ("C123", b"E01"),
    ("vCont;c5", b"E01"),
    ("vCont;Cz:1", b"E01"),
    ("m-1,4", b"E01"),
    ("m 40200000,4", b"E01"),
    ("m40200000,10000000000000000", b"E01"),
    ("M40200000,1:0 ", b"E01"),
    ("M40200000,2:00 1", b"E01"),
    ("p-1", b"E01"),
    ("p+20", b"E01"),
    ("P20=00 00000000000000", b"E01"),
    ("Z0,100000000000000000000,4", b"E01"),
    ("Z2,-10,4", b"E01"),
    ("Z2,fffffffffffffffc,8", b"E01"),
    ("Z-1,40200000,4", b"E01"),
    ("qXfer:features:read:target.xml:-10,-5", b"E01"),
    ("qXfer:features:read:target.xml:0,0x10", b"E01"),
    ("qRcmd,68 656c70", b"E01"),
    ("Hg+1", b"E01"),
])
def test_malformed_or_unknown_packets_get_an_error_or_empty_reply(program, packet, reply):
    _, srv, connect = program
    c = connect()
    assert c.command(packet) == reply
    assert c.command("qC") == b"QC1"  # still serving
    assert "Traceback" not in srv.log.getvalue()


def test_qsupported_offers_what_the_server_does(program):
    _, _, connect = program
    c = connect()
    features = c.command("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386").split(b";")
    assert b"PacketSize=%x" % PACKET_SIZE in features
    for f in (b"qXfer:features:read+", b"swbreak+", b"hwbreak+", b"vContSupported+"):
        assert f in features


def test_target_description_names_the_aarch64_features_and_system_registers(program):
    _, _, connect = program
    c = connect()
    doc = b""
    while True:
        chunk = c.command(b"qXfer:features:read:target.xml:%x,200" % len(doc))
        doc += chunk[1:]
        if chunk[:1] == b"l":
            break
        assert chunk[:1] == b"m"
    root = ET.fromstring(doc)
    features = {f.get("name"): [r.get("name") for r in f.findall("reg")] for f in root.findall("feature")}
    core = features["org.gnu.gdb.aarch64.core"]
    assert core == [f"x{i}" for i in range(31)] + ["sp", "pc", "cpsr"]
    fpu = features["org.gnu.gdb.aarch64.fpu"]
    assert fpu == [f"v{i}" for i in range(32)] + ["fpsr", "fpcr"]
    system = features[gdbregs.SYSTEM_FEATURE]
    for name in ("CurrentEL", "ESR_EL2", "HPFAR_EL2", "VTTBR_EL2", "VTCR_EL2", "CNTVCT_EL0", "SPSR_EL1"):
        assert name in system
    numbers = [int(r.get("regnum")) for f in root.findall("feature") for r in f.findall("reg")]
    assert numbers == list(range(len(gdbregs.REGISTERS)))


def test_thread_queries_describe_one_core(program):
    _, _, connect = program
    c = connect()
    assert c.command("qfThreadInfo") == b"m1"
    assert c.command("qsThreadInfo") == b"l"
    assert c.command("qC") == b"QC1"
    assert c.command("Hg0") == b"OK"
    assert c.command("Hc-1") == b"OK"
    assert c.command("T1") == b"OK"
    assert c.command("qAttached") == b"1"
    assert bytes.fromhex(c.command("qThreadExtraInfo,1").decode()).startswith(b"core 0")
    assert c.command("vCont?").startswith(b"vCont;c;C;s;S")


def test_no_ack_mode(program):
    _, _, connect = program
    c = connect()
    assert c.command("QStartNoAckMode") == b"OK"
    c.no_ack = True
    assert c.command("qC") == b"QC1"
    c.send_raw(b"$g#00")  # in no-ack mode a damaged packet is dropped without a reply
    assert c.command("qC") == b"QC1"


# -- monitor commands -------------------------------------------------------------------------

def test_monitor_help_lists_the_commands(program):
    _, _, connect = program
    c = connect()
    text = c.monitor("help")
    for word in ("trap", "stage2", "tenant", "gic", "phys"):
        assert f"monitor {word}" in text
    assert "unknown monitor command" in c.monitor("frobnicate")


def test_monitor_stage2_and_tenant_without_a_hypervisor(program):
    _, _, connect = program
    c = connect()
    assert "stage 2 is off" in c.monitor("stage2 0x40000000")
    assert "no tenants" in c.monitor("tenant")
    assert "not a number" in c.monitor("stage2 banana")
    assert "usage" in c.monitor("stage2")


def test_monitor_gic_shows_pending_interrupts_and_list_registers(program):
    _, srv, connect = program
    c = connect()
    gic = getattr(srv.server.m, "gic", None)
    if gic is None:
        assert "no GIC" in c.monitor("gic")
        return
    gic.set_irq(33, 1)  # the UART's SPI, level high
    lr = (1 << 31) | (27 << 10) | (0xA0 >> 3 << 23) | (1 << 28) | 27  # HW, pending vINTID 27
    gic.gich.banks[0]["LR"][1] = lr
    out = c.monitor("gic")
    assert "pending [33]" in out
    assert f"LR1 {lr:#010x} pending virtual INTID 27 priority 0xa0" in out
    assert "HW physical INTID 27" in out
    assert "LR0 0x00000000 invalid" in out


def test_monitor_gic_without_a_gic(program):
    _, srv, connect = program
    c = connect()
    m = srv.server.m
    saved, m.gic = getattr(m, "gic", None), None
    try:
        assert "no GIC" in c.monitor("gic")
    finally:
        m.gic = saved


def test_random_packets_never_break_the_server(program):
    import random

    _, srv, connect = program
    c = connect()
    rng = random.Random(1234)
    heads = [b"m", b"M", b"X", b"g", b"G", b"p", b"P", b"Z", b"z", b"H", b"T", b"q", b"Q", b"?",
             b"qXfer:features:read:", b"qRcmd,", b"qSupported", b"vCont?", b"x", b"\x7f"]
    alphabet = b"0123456789abcdefABCDEF,:;=-xyz \x00\xff"
    for _ in range(400):
        body = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 24)))
        c.command(rng.choice(heads) + body)
    # Line noise between packets (without the bytes that mean something there: '$', the
    # acks '+' and '-', and Ctrl-C).
    noise = bytes(b for b in (rng.randrange(256) for _ in range(300)) if b not in b"$+-\x03")
    c.send_raw(noise)
    assert c.command("qC") == b"QC1"
    assert c.command("?") == b"T05thread:1;"
    assert "Traceback" not in srv.log.getvalue()
