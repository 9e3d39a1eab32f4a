"""The TCP offload engine (emu/devices/toe.py) with real host sockets on loopback: the management
page's rules (ownership, ports, addresses, quotas), sessions' data moving by DMA through their own
streams, peers that half-close or reset, and a recorded run replayed with no network."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from emu.devices.irq import IrqLine
from emu.devices.log import RecordingLog
from emu.devices.toe import (CMD_CLOSE, CMD_CONNECT, CMD_LISTEN, CMD_RX, CMD_TX, ERR_BUSY, ERR_DMA, ERR_NONE,
                             ERR_NOT_PERMITTED, ESTABLISHED, IDLE, IRQ_RX, IRQ_STATE, IRQ_TX, LISTENING, PAGE, PEER_CLOSED,
                             POLL_TICKS, RESET, SESSIONS, LiveNet, ReplayNet, Toe)
from emu.mem.dma import DmaFault

LOOPBACK = 0x7F000001
BUF = 0x1000               # the tenant's buffers, as IPAs of its stream
MEMORY = 0x10000


class Clock:
    def __init__(self):
        self.t = 0

    def now(self):
        return self.t


class Stream:
    """One stream's view of memory: [0, MEMORY) is the tenant's; anything else faults."""

    def __init__(self, mem):
        self.mem = mem

    def read(self, addr, size):
        if not 0 <= addr <= addr + size <= MEMORY:
            raise DmaFault(addr, size, False, "outside the partition")
        return bytes(self.mem[addr:addr + size])

    def write(self, addr, data):
        if not 0 <= addr <= addr + len(data) <= MEMORY:
            raise DmaFault(addr, len(data), True, "outside the partition")
        self.mem[addr:addr + len(data)] = data


class Rig:
    def __init__(self, net=None, record=None):
        self.clock = Clock()
        self.mems = {1: bytearray(MEMORY), 2: bytearray(MEMORY)}     # stream -> memory
        self.levels = [0] * SESSIONS
        irqs = [IrqLine(lambda level, s=s: self.levels.__setitem__(s, level), f"s{s}") for s in range(SESSIONS)]
        self.log = RecordingLog()
        self.net = net if net is not None else LiveNet([("127.0.0.1", 0, 7000)])
        self.toe = Toe(irqs, self.clock, lambda sid: Stream(self.mems[sid]), self.net, record, log=self.log)
        # The hypervisor's part: tenant 1 owns sessions 0-3 (stream 1), tenant 2 owns 4-5 (stream 2).
        self.w(0x008, 1)
        for s in range(4):
            self.w(0x100 + 16 * s, 1)
            self.w(0x104 + 16 * s, 1)
        for s in (4, 5):
            self.w(0x100 + 16 * s, 2)
            self.w(0x104 + 16 * s, 2)
        self.w(0x400, 7000)                              # tenant 1 listens on 7000
        self.w(0x40C, 3)                                 # ... with at most three sessions
        self.w(0x420 + 0x0C, 2)                          # tenant 2: two sessions, no port

    def w(self, off, value, size=4):
        self.toe.write(off, size, value)

    def r(self, off, size=4):
        return self.toe.read(off, size)

    def sw(self, s, off, value, size=4):
        self.w(PAGE * (1 + s) + off, value, size)

    def sr(self, s, off):
        return self.r(PAGE * (1 + s) + off)

    def cmd(self, s, command, arg0=0, arg1=0):
        self.sw(s, 0x04, arg0)
        self.sw(s, 0x08, arg1)
        self.sw(s, 0x00, command)
        return self.sr(s, 0x14)

    def poll(self):
        self.clock.t += POLL_TICKS
        self.toe.update()

    def until(self, cond, what):
        for _ in range(400):
            self.poll()
            if cond():
                return
            time.sleep(0.002)
        raise AssertionError(f"never: {what}")

    def tx(self, s, data, stream=1, at=BUF):
        self.mems[stream][at:at + len(data)] = data
        self.sw(s, 0x20, at, 8)
        self.sw(s, 0x28, len(data))
        err = self.cmd(s, CMD_TX)
        return err, self.sr(s, 0x2C)

    def rx(self, s, size, stream=1, at=BUF * 2):
        self.sw(s, 0x30, at, 8)
        self.sw(s, 0x38, size)
        err = self.cmd(s, CMD_RX)
        n = self.sr(s, 0x3C)
        return err, bytes(self.mems[stream][at:at + n])


@pytest.fixture
def rig():
    r = Rig()
    yield r
    r.net.shutdown()


def client(rig, index=0):
    c = socket.create_connection(("127.0.0.1", rig.net.ports[index]), timeout=5)
    return c


def test_the_management_page_names_the_device_and_guards_every_session(rig):
    assert rig.r(0x000) == 0x30454F54 and rig.r(0x004) == SESSIONS
    assert rig.cmd(9, CMD_LISTEN, 7000) == ERR_NOT_PERMITTED          # nobody owns session 9
    assert rig.cmd(4, CMD_LISTEN, 7000) == ERR_NOT_PERMITTED          # tenant 2 was given no port
    assert rig.cmd(0, CMD_LISTEN, 7001) == ERR_NOT_PERMITTED          # a port tenant 1 was not given
    assert rig.cmd(0, CMD_LISTEN, 7000) == ERR_NONE and rig.sr(0, 0x10) == LISTENING
    assert rig.cmd(1, CMD_LISTEN, 7000) == ERR_BUSY


def test_an_accepted_connection_echoes_end_to_end_through_dma(rig):
    assert rig.cmd(0, CMD_LISTEN, 7000) == ERR_NONE
    rig.sw(0, 0x44, IRQ_STATE)
    c = client(rig)
    rig.until(lambda: rig.r(PAGE + 0x50), "the listener accepted")
    s = rig.r(PAGE + 0x50) - 1
    assert s == 1 and rig.sr(s, 0x10) == ESTABLISHED and rig.levels[0]
    assert rig.sr(s, 0x48) == LOOPBACK and rig.sr(s, 0x4C) == c.getsockname()[1]
    rig.sw(s, 0x44, IRQ_RX)
    payload = bytes(range(256)) * 40                     # 10 KiB
    c.sendall(payload)
    rig.until(lambda: rig.sr(s, 0x18), "data arrived")
    assert rig.levels[s] and rig.sr(s, 0x40) & IRQ_RX
    rig.sw(s, 0x40, IRQ_RX)                              # W1C
    assert not rig.levels[s]
    got = b""
    while len(got) < len(payload):
        rig.until(lambda: rig.sr(s, 0x18), "data arrived")
        err, chunk = rig.rx(s, 3000)
        assert err == ERR_NONE
        got += chunk
        err, n = rig.tx(s, chunk)
        assert err == ERR_NONE and n == len(chunk)
    assert got == payload
    back = b""
    c.settimeout(0.01)
    while len(back) < len(payload):
        rig.poll()
        try:
            back += c.recv(65536)
        except socket.timeout:
            pass
    assert back == payload
    c.close()


def test_tx_bytes_leave_at_once_and_the_tenant_sees_them_taken_at_the_next_poll(rig):
    """The host gets a TX as the tenant rings for it, without waiting for a poll; what the host
    took is an input, so TX_SPACE and IRQ_TX change only at the next poll, as in a replay."""
    assert rig.cmd(0, CMD_LISTEN, 7000) == ERR_NONE
    c = client(rig)
    rig.until(lambda: rig.r(PAGE + 0x50), "the listener accepted")
    s = rig.r(PAGE + 0x50) - 1
    rig.sw(s, 0x40, IRQ_TX)
    before = rig.sr(s, 0x1C)
    payload = bytes(range(256)) * 8
    assert rig.tx(s, payload) == (ERR_NONE, len(payload))
    assert rig.sr(s, 0x1C) == before - len(payload) and not rig.sr(s, 0x40) & IRQ_TX
    got = b""
    while len(got) < len(payload):
        got += c.recv(65536)                          # no poll in between
    assert got == payload
    assert rig.sr(s, 0x1C) == before - len(payload)   # not seen yet
    rig.poll()
    assert rig.sr(s, 0x1C) == before and rig.sr(s, 0x40) & IRQ_TX
    c.close()


def test_a_connection_beyond_the_quota_or_with_no_free_session_is_refused_and_counted(rig):
    assert rig.cmd(0, CMD_LISTEN, 7000) == ERR_NONE      # quota 3: the listener and two more
    a, b = client(rig), client(rig)
    rig.until(lambda: rig.sr(2, 0x10) == ESTABLISHED, "two accepted")
    c = client(rig)
    rig.until(lambda: rig.r(0x00C) == 1, "the third refused")
    assert rig.r(0x410) == 1 and rig.r(0x430) == 0       # counted against tenant 1 only
    c.settimeout(5)
    assert c.recv(16) == b""                             # closed by the TOE
    for x in (a, b, c):
        x.close()


def test_a_descriptor_outside_the_partition_moves_nothing(rig):
    rig.cmd(0, CMD_LISTEN, 7000)
    c = client(rig)
    rig.until(lambda: rig.r(PAGE + 0x50), "accepted")
    s = rig.r(PAGE + 0x50) - 1
    err, n = rig.tx(s, b"x" * 16, at=MEMORY - 8)         # straddles the end of its memory
    assert err == ERR_DMA and n == 0 and rig.sr(s, 0x1C) == 64 << 10
    c.sendall(b"secret")
    rig.until(lambda: rig.sr(s, 0x18) == 6, "data")
    err, _ = rig.rx(s, 6, at=0x7_0000_0000)
    assert err == ERR_DMA and rig.sr(s, 0x18) == 6       # still buffered, nothing written anywhere
    assert rig.log.entries                               # and reported
    c.close()


def test_a_peer_that_half_closes_or_resets(rig):
    rig.cmd(0, CMD_LISTEN, 7000)
    a = client(rig)
    rig.until(lambda: rig.sr(1, 0x10) == ESTABLISHED, "a accepted")
    a.sendall(b"last words")
    a.shutdown(socket.SHUT_WR)
    rig.until(lambda: rig.sr(1, 0x10) == PEER_CLOSED, "FIN seen")
    assert rig.rx(1, 100) == (ERR_NONE, b"last words")   # what was sent before the FIN is kept
    assert rig.tx(1, b"reply")[0] == ERR_NONE            # and the other direction still works
    a.settimeout(5)
    rig.until(lambda: rig.sr(1, 0x1C) == 64 << 10, "reply sent")
    assert a.recv(16) == b"reply"
    b = client(rig)
    rig.until(lambda: rig.sr(2, 0x10) == ESTABLISHED, "b accepted")
    b.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    b.close()                                            # RST
    rig.until(lambda: rig.sr(2, 0x10) == RESET, "reset seen")
    assert rig.cmd(2, CMD_CLOSE) == ERR_NONE and rig.sr(2, 0x10) == IDLE
    a.close()


def test_outbound_connections_go_only_where_both_rules_allow(rig):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    assert rig.cmd(4, CMD_CONNECT, LOOPBACK, port) == ERR_NOT_PERMITTED   # tenant 2: no address yet
    rig.w(0x424, LOOPBACK)                               # the hypervisor allows 127.0.0.1, any port
    assert rig.cmd(4, CMD_CONNECT, LOOPBACK, port) == ERR_NONE
    peer, _ = server.accept()
    rig.until(lambda: rig.sr(4, 0x10) == ESTABLISHED, "connected")
    assert rig.tx(4, b"hello", stream=2) == (ERR_NONE, 5)
    peer.settimeout(5)
    rig.until(lambda: rig.sr(4, 0x1C) == 64 << 10, "sent")
    assert peer.recv(16) == b"hello"
    rig.w(0x424, 0x0A000001)                             # 10.0.0.1: the manifest may say so, but
    assert rig.cmd(5, CMD_CONNECT, 0x0A000001, 80) == ERR_NOT_PERMITTED   # --toe allows loopback only
    peer.close()
    server.close()


def test_a_session_changing_hands_is_closed_first(rig):
    rig.cmd(0, CMD_LISTEN, 7000)
    c = client(rig)
    rig.until(lambda: rig.sr(1, 0x10) == ESTABLISHED, "accepted")
    c.sendall(b"tenant 1's data")
    rig.until(lambda: rig.sr(1, 0x18), "data")
    rig.w(0x100 + 16 * 1, 2)                             # session 1 to tenant 2
    assert rig.sr(1, 0x10) == IDLE and rig.sr(1, 0x18) == 0
    c.settimeout(5)
    assert c.recv(16) == b""
    c.close()


def test_a_recorded_run_replays_with_no_network():
    record: list = []
    live = Rig(record=record)

    def script(r: Rig, peer=None) -> list:
        """The tenant's side: listen, take what comes, echo it; what it sees, poll by poll."""
        seen = []
        r.cmd(0, CMD_LISTEN, 7000)
        for step in range(120):
            if peer is not None and step == 5:
                peer.sendall(b"ping " * 100)
            r.poll()
            if peer is not None:
                time.sleep(0.002)
            s = r.r(PAGE + 0x50) - 1
            if s >= 0 and r.sr(s, 0x18):
                err, data = r.rx(s, 128)
                r.tx(s, data)
                seen.append((step, err, data))
            seen.append((step, [r.sr(x, 0x10) for x in range(4)], s))
        return seen

    peer = client(live)
    seen_live = script(live, peer)
    peer.close()
    live.net.shutdown()
    assert any(isinstance(x[2], bytes) for x in seen_live)     # something was echoed
    replay = Rig(net=ReplayNet(record))
    assert script(replay) == seen_live
    assert replay.mems == live.mems


def test_a_port_or_address_not_given_is_refused_and_reported_to_the_management_page(rig):
    levels = []
    rig.toe.mgmt_irq.connect(levels.append)
    assert rig.cmd(0, CMD_LISTEN, 7002) == ERR_NOT_PERMITTED
    assert rig.cmd(4, CMD_CONNECT, LOOPBACK, 80) == ERR_NOT_PERMITTED    # tenant 2: no address given
    assert rig.r(0x010) == 2 and levels[-1]
    assert (rig.r(0x014), rig.r(0x018)) == (0, 1)                        # session 0: a port
    rig.w(0x01C, 1)
    assert (rig.r(0x014), rig.r(0x018)) == (4, 2)                        # session 4: an address
    rig.w(0x01C, 1)
    assert rig.r(0x010) == 0 and not levels[-1]
