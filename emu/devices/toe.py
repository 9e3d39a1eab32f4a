"""A TCP offload engine (TOE) that carries real host TCP, split between tenants by sessions.

No public register map exists for the TOE of the SmartNIC research (its interfaces are open,
close, listen, notifications, rx and tx requests, over a fixed number of sessions); this one is
ours. The device is one management page, the hypervisor's, and one page per session, which the
hypervisor maps into the stage 2 of the tenant that owns the session: the data path never traps.

Interface
    MMIO      (1 + SESSIONS) pages of 4 KiB. Page 0 manages: which tenant owns each session and
              through which DMA stream its data moves, and per tenant the ports it may listen on,
              the address it may connect to and how many sessions it may use at once. Page 1 + s
              is session s: commands, status, a TX and an RX descriptor, interrupt status and mask.
    DMA       ``dma(stream)`` gives the port of a stream (an SMMU stream behind an SMMU, the
              physical bus otherwise): a session's data moves through its own stream only, and a
              refused transfer (DmaFault) moves nothing and sets the session's ERROR.
    IRQ out   one line per session, high while IRQ_STATUS & IRQ_MASK; and the management line,
              high while a policy violation waits in the management page's FIFO.
    Violations
              a LISTEN on a port, or a CONNECT to an address, that the management page does not
              give the session's owner is refused (ERROR = NOT_PERMITTED) and reported to the
              management page: VIOLATIONS (how many wait), VIOL_SESSION and VIOL_REASON (the
              oldest), VIOL_POP (write to drop it), VIOL_LOST (those a full FIFO dropped).
    Clock     ``clock.now()``: the network is polled at fixed points of virtual time, every
              POLL_TICKS counter ticks (``next_deadline``/``update``, as a timer), so a run that
              gets the same network events at the same points runs the same.
    Network   a backend (``LiveNet``: host sockets, non-blocking, behind one selector; or a
              replay) turns what happened since the last poll into events: a connection accepted
              on a forwarded port, bytes received, the peer's FIN or reset, an outbound connect
              done or failed, bytes the host took. ``record`` (a list) gets each event with its
              virtual time, which is all a replay needs.

Sessions move through IDLE, LISTENING, CONNECTING, ESTABLISHED, PEER_CLOSED (the peer sent FIN:
the tenant may still read what is buffered, and send), RESET and back to IDLE by CLOSE. An
accepted connection lands in a free session of the listener's tenant; with none free, or the
tenant at its quota, the connection is refused (closed at once) and counted.
"""

from __future__ import annotations

import errno
import ipaddress
import selectors
import socket
from dataclasses import dataclass, field
from typing import Any, Callable

from ..mem.dma import DmaFault, DmaPort
from .base import MmioDevice
from .irq import IrqLine
from .log import LogSink
from .regs import RO, W1C, WO, Reg, RegisterMap

PAGE = 0x1000
SESSIONS = 16
TENANT_SLOTS = 8                        # owner tags 1..8: policies in the management page
BUFFER = 64 << 10                       # each direction's buffer of a session, bytes
POLL_TICKS = 6_250                      # 100 us at the board's 62.5 MHz counter
TOE_ID = 0x30454F54                     # "TOE0"

# Session commands (CMD), states (STATE), errors (ERROR), interrupt bits (IRQ_STATUS).
CMD_LISTEN, CMD_CONNECT, CMD_CLOSE, CMD_TX, CMD_RX = 1, 2, 3, 4, 5
VIOL_PORT, VIOL_ADDRESS = 1, 2          # VIOL_REASON: a port to listen on, an address to connect to
VIOL_FIFO = 16
IDLE, LISTENING, CONNECTING, ESTABLISHED, PEER_CLOSED, RESET = 0, 1, 2, 3, 4, 5
ERR_NONE, ERR_NO_CONNECTION, ERR_NO_SPACE, ERR_NOT_PERMITTED, ERR_DMA, ERR_BUSY, ERR_BAD_COMMAND = range(7)
IRQ_RX, IRQ_TX, IRQ_STATE = 1, 2, 4
STATE_NAMES = ("idle", "listening", "connecting", "established", "peer closed", "reset")


def _session_reg(name: str, offset: int, **kw) -> Reg:
    return Reg(name, PAGE + offset, count=SESSIONS, stride=PAGE, **kw)


@dataclass
class _Session:
    state: int = IDLE
    port: int = 0                       # a listener's port
    sock: socket.socket | None = None
    rx: bytearray = field(default_factory=bytearray)
    tx: bytearray = field(default_factory=bytearray)


class Toe(MmioDevice):
    """The TCP offload engine. See the module docstring for the interface."""

    SIZE = (1 + SESSIONS) * PAGE

    REGS = RegisterMap(
        Reg("ID", 0x000, access=RO, reset=TOE_ID),
        Reg("SESSIONS", 0x004, access=RO, reset=SESSIONS),
        Reg("CTRL", 0x008, mask=1),                                  # ENABLE
        Reg("REFUSED", 0x00C, access=RO),                            # connections refused in all
        Reg("VIOLATIONS", 0x010, access=RO, on_read="_violations"),
        Reg("VIOL_SESSION", 0x014, access=RO, on_read="_viol_session"),
        Reg("VIOL_REASON", 0x018, access=RO, on_read="_viol_reason"),
        Reg("VIOL_POP", 0x01C, access=WO, on_write="_viol_pop"),
        Reg("VIOL_LOST", 0x020, access=RO),
        Reg("S_OWNER", 0x100, count=SESSIONS, stride=16, mask=0xFF, on_write="_write_owner"),
        Reg("S_STREAM", 0x104, count=SESSIONS, stride=16, mask=0xFFFF),
        Reg("T_LISTEN", 0x400, count=TENANT_SLOTS, stride=32),      # two ports: 15:0 and 31:16
        Reg("T_CONNECT_ADDR", 0x404, count=TENANT_SLOTS, stride=32),
        Reg("T_CONNECT_PORT", 0x408, count=TENANT_SLOTS, stride=32, mask=0xFFFF),   # 0: any
        Reg("T_QUOTA", 0x40C, count=TENANT_SLOTS, stride=32, mask=0xFF),
        Reg("T_REFUSED", 0x410, count=TENANT_SLOTS, stride=32, access=RO),
        _session_reg("CMD", 0x00, access=WO, on_write="_command"),
        _session_reg("ARG0", 0x04),
        _session_reg("ARG1", 0x08, mask=0xFFFF),
        _session_reg("STATE", 0x10, access=RO),
        _session_reg("ERROR", 0x14, access=RO),
        _session_reg("RX_AVAIL", 0x18, access=RO, on_read="_rx_avail"),
        _session_reg("TX_SPACE", 0x1C, access=RO, on_read="_tx_space"),
        _session_reg("TX_ADDR", 0x20, width=64, sizes=(4, 8)),
        _session_reg("TX_LEN", 0x28),
        _session_reg("TX_DONE", 0x2C, access=RO),
        _session_reg("RX_ADDR", 0x30, width=64, sizes=(4, 8)),
        _session_reg("RX_LEN", 0x38),
        _session_reg("RX_DONE", 0x3C, access=RO),
        _session_reg("IRQ_STATUS", 0x40, access=W1C, mask=7, on_change="_update_irqs"),
        _session_reg("IRQ_MASK", 0x44, mask=7, on_change="_update_irqs"),
        _session_reg("PEER_ADDR", 0x48, access=RO),
        _session_reg("PEER_PORT", 0x4C, access=RO),
        _session_reg("ACCEPTED", 0x50, access=RO),                   # a listener: last session + 1
    )

    def __init__(self, irqs: list[IrqLine], clock, dma: Callable[[int], DmaPort], net: "LiveNet | None" = None,
                 record: list | None = None, log: LogSink | None = None, name: str = "toe",
                 mgmt_irq: IrqLine | None = None):
        super().__init__(log=log, name=name)
        if len(irqs) != SESSIONS:
            raise ValueError(f"a TOE needs {SESSIONS} interrupt lines, not {len(irqs)}")
        self.irqs = irqs
        self.clock = clock
        self.dma = dma
        self.net = net
        self.record = record
        self.sessions = [_Session() for _ in range(SESSIONS)]
        self._next_poll = POLL_TICKS
        self.mgmt_irq = mgmt_irq or IrqLine(None, f"{name}.mgmt")
        self._violations: list[tuple[int, int]] = []          # (session, reason), oldest first

    # --- time ----------------------------------------------------------------------------------

    def next_deadline(self) -> int | None:
        return self._next_poll if self.net is not None else None

    def update(self) -> None:
        now = self.clock.now()
        if now < self._next_poll:
            return
        self._next_poll = (now // POLL_TICKS + 1) * POLL_TICKS
        if self.net is not None:
            for event in self.net.poll(self):
                if self.record is not None:
                    self.record.append((now - now % POLL_TICKS, *event))
                self.apply(event)

    # --- network events --------------------------------------------------------------------------

    def apply(self, event: tuple) -> None:
        """One thing the network did (LiveNet.poll, or a replay)."""
        kind, s = event[0], event[1]
        if kind == "accepted":                      # ("accepted", session, listener, addr, port)
            _, s, listener, addr, port = event
            sess = self.sessions[s]
            sess.state = ESTABLISHED
            self.regs[("PEER_ADDR", s)], self.regs[("PEER_PORT", s)] = addr, port
            self.regs[("ACCEPTED", listener)] = s + 1
            self._raise(s, IRQ_STATE | IRQ_TX)
            self._raise(listener, IRQ_STATE)
        elif kind == "refused":                     # ("refused", listener or -1, owner)
            owner = event[2]
            self.regs["REFUSED"] += 1
            if 1 <= owner <= TENANT_SLOTS:
                self.regs[("T_REFUSED", owner - 1)] += 1
        elif kind == "data":                        # ("data", session, bytes)
            self.sessions[s].rx += event[2]
            self._raise(s, IRQ_RX)
        elif kind == "eof":
            if self.sessions[s].state == ESTABLISHED:
                self.sessions[s].state = PEER_CLOSED
            self._raise(s, IRQ_STATE)
        elif kind == "reset":
            sess = self.sessions[s]
            sess.state, sess.sock = RESET, None
            sess.rx.clear()
            sess.tx.clear()
            self._raise(s, IRQ_STATE)
        elif kind == "connected":
            self.sessions[s].state = ESTABLISHED
            self._raise(s, IRQ_STATE | IRQ_TX)
        elif kind == "connect_failed":
            sess = self.sessions[s]
            sess.state, sess.sock = RESET, None
            self.regs[("ERROR", s)] = ERR_NO_CONNECTION
            self._raise(s, IRQ_STATE)
        elif kind == "sent":                        # ("sent", session, bytes taken by the host)
            del self.sessions[s].tx[:event[2]]
            self._raise(s, IRQ_TX)
        self._sync(s)

    # --- what the network backend asks ---------------------------------------------------------

    def free_session_for(self, listener: int) -> int | None:
        """A session to take a connection accepted by ``listener``: idle, of the same owner, with
        the owner under its quota. None if there is none."""
        owner = self.regs[("S_OWNER", listener)]
        if not self._under_quota(owner):
            return None
        return next((s for s in range(SESSIONS) if self.regs[("S_OWNER", s)] == owner
                     and self.sessions[s].state == IDLE), None)

    def listener_on(self, port: int) -> int | None:
        return next((s for s, sess in enumerate(self.sessions) if sess.state == LISTENING and sess.port == port), None)

    # --- the tenant's commands -------------------------------------------------------------------

    def _command(self, s: int, value: int) -> None:
        owner = self.regs[("S_OWNER", s)]
        error = ERR_NONE
        if not self.regs["CTRL"] & 1 or owner == 0:
            error = ERR_NOT_PERMITTED
        elif value == CMD_LISTEN:
            error = self._listen(s, owner)
        elif value == CMD_CONNECT:
            error = self._connect(s, owner)
        elif value == CMD_CLOSE:
            self._close(s)
        elif value == CMD_TX:
            error = self._tx(s)
        elif value == CMD_RX:
            error = self._rx(s)
        else:
            error = ERR_BAD_COMMAND
        self.regs[("ERROR", s)] = error
        self._sync(s)

    def _listen(self, s: int, owner: int) -> int:
        port = self.regs[("ARG0", s)] & 0xFFFF
        allowed = self.regs[("T_LISTEN", owner - 1)] if owner <= TENANT_SLOTS else 0
        if port == 0 or port not in (allowed & 0xFFFF, allowed >> 16):
            self._violation(s, VIOL_PORT)
            return ERR_NOT_PERMITTED
        if self.sessions[s].state != IDLE or self.listener_on(port) is not None:
            return ERR_BUSY
        if not self._under_quota(owner):
            return ERR_NO_SPACE
        self.sessions[s].state, self.sessions[s].port = LISTENING, port
        return ERR_NONE

    def _connect(self, s: int, owner: int) -> int:
        addr, port = self.regs[("ARG0", s)], self.regs[("ARG1", s)]
        slot = owner - 1
        if slot >= TENANT_SLOTS or addr == 0 or addr != self.regs[("T_CONNECT_ADDR", slot)] \
                or self.regs[("T_CONNECT_PORT", slot)] not in (0, port) or port == 0:
            self._violation(s, VIOL_ADDRESS)
            return ERR_NOT_PERMITTED
        if self.sessions[s].state != IDLE:
            return ERR_BUSY
        if not self._under_quota(owner):
            return ERR_NO_SPACE
        if self.net is None or not self.net.may_connect(addr, port):
            self._violation(s, VIOL_ADDRESS)
            return ERR_NOT_PERMITTED
        self.sessions[s].state = CONNECTING
        self.regs[("PEER_ADDR", s)], self.regs[("PEER_PORT", s)] = addr, port
        self.net.connect(self, s, addr, port)
        return ERR_NONE

    def _close(self, s: int) -> None:
        sess = self.sessions[s]
        if self.net is not None:
            self.net.close(self, s)
        sess.state, sess.port, sess.sock = IDLE, 0, None
        sess.rx.clear()
        sess.tx.clear()
        self.regs[("ACCEPTED", s)] = 0
        self.regs[("IRQ_STATUS", s)] = 0
        self._update_irqs()

    def _tx(self, s: int) -> int:
        sess = self.sessions[s]
        self.regs[("TX_DONE", s)] = 0
        if sess.state not in (ESTABLISHED, PEER_CLOSED):
            return ERR_NO_CONNECTION
        n = min(self.regs[("TX_LEN", s)], BUFFER - len(sess.tx))
        if n == 0:
            return ERR_NO_SPACE if self.regs[("TX_LEN", s)] else ERR_NONE
        try:
            data = self.dma(self.regs[("S_STREAM", s)]).read(self.regs[("TX_ADDR", s)], n)
        except DmaFault as fault:
            self.guest_error(f"session {s}: TX descriptor refused: {fault}")
            return ERR_DMA
        sess.tx += data
        self.regs[("TX_DONE", s)] = n
        if self.net is not None:
            self.net.transmit(self, s)
        return ERR_NONE

    def _rx(self, s: int) -> int:
        sess = self.sessions[s]
        self.regs[("RX_DONE", s)] = 0
        n = min(self.regs[("RX_LEN", s)], len(sess.rx))
        if n == 0:
            return ERR_NONE if sess.state in (ESTABLISHED, PEER_CLOSED) or sess.rx else ERR_NO_CONNECTION
        try:
            self.dma(self.regs[("S_STREAM", s)]).write(self.regs[("RX_ADDR", s)], bytes(sess.rx[:n]))
        except DmaFault as fault:
            self.guest_error(f"session {s}: RX descriptor refused: {fault}")
            return ERR_DMA
        del sess.rx[:n]
        self.regs[("RX_DONE", s)] = n
        return ERR_NONE

    def _write_owner(self, s: int, value: int) -> None:
        """A session changes hands only idle: whatever it carried is closed first, so nothing of
        one tenant's connection reaches the next owner."""
        if value != self.regs[("S_OWNER", s)]:
            self._close(s)
        self.regs[("S_OWNER", s)] = value
        self._sync(s)

    # --- violations --------------------------------------------------------------------------

    def _violation(self, s: int, reason: int) -> None:
        if len(self._violations) < VIOL_FIFO:
            self._violations.append((s, reason))
        else:
            self.regs["VIOL_LOST"] += 1
        self.mgmt_irq.set(True)

    def _violations(self) -> int:
        return len(self._violations)

    def _viol_session(self) -> int:
        return self._violations[0][0] if self._violations else 0

    def _viol_reason(self) -> int:
        return self._violations[0][1] if self._violations else 0

    def _viol_pop(self, value: int) -> None:
        if self._violations:
            self._violations.pop(0)
        self.mgmt_irq.set(bool(self._violations))

    # --- state ---------------------------------------------------------------------------------

    def _under_quota(self, owner: int) -> bool:
        if not 1 <= owner <= TENANT_SLOTS:
            return False
        used = sum(1 for s, sess in enumerate(self.sessions)
                   if self.regs[("S_OWNER", s)] == owner and sess.state != IDLE)
        return used < self.regs[("T_QUOTA", owner - 1)]

    def _rx_avail(self, s: int) -> int:
        return len(self.sessions[s].rx)

    def _tx_space(self, s: int) -> int:
        return BUFFER - len(self.sessions[s].tx)

    def _sync(self, s: int) -> None:
        self.regs[("STATE", s)] = self.sessions[s].state

    def _raise(self, s: int, bits: int) -> None:
        self.regs[("IRQ_STATUS", s)] |= bits
        self._update_irqs()

    def _update_irqs(self) -> None:
        for s, line in enumerate(self.irqs):
            line.set(bool(self.regs[("IRQ_STATUS", s)] & self.regs[("IRQ_MASK", s)]))

    def state(self) -> dict[str, Any]:
        s = super().state()
        if any(sess.state != IDLE for sess in self.sessions):
            s["sessions"] = [[sess.state, sess.port, sess.rx.hex(), sess.tx.hex()] for sess in self.sessions]
        s["next_poll"] = self._next_poll
        s["violations"] = [list(v) for v in self._violations]
        return s

    def from_state(self, state: dict[str, Any]) -> None:
        super().from_state(state)
        # A snapshot keeps what the guest saw; host connections do not survive it.
        for sess, saved in zip(self.sessions, state.get("sessions", [])):
            st, port, rx, tx = saved
            sess.state = RESET if int(st) in (CONNECTING, ESTABLISHED, PEER_CLOSED) else int(st)
            sess.port, sess.rx, sess.tx = int(port), bytearray.fromhex(rx), bytearray.fromhex(tx)
        self._next_poll = int(state.get("next_poll", POLL_TICKS))
        self._violations = [(int(s), int(r)) for s, r in state.get("violations", [])][:VIOL_FIFO]
        self.mgmt_irq.set(bool(self._violations))
        for s in range(SESSIONS):
            self._sync(s)
        self._update_irqs()


class LiveNet:
    """Real host TCP behind one selector, non-blocking. ``forwards`` maps host (address, port)
    to the TOE port a tenant listens on (QEMU's ``hostfwd=tcp:127.0.0.1:17000-:7000``);
    ``connect_allowed`` are the networks outbound connections may reach (default: loopback)."""

    def __init__(self, forwards: list[tuple[str, int, int]] = (),
                 connect_allowed: list[str] = ("127.0.0.0/8",)):
        self.selector = selectors.DefaultSelector()
        self.listeners: list[tuple[socket.socket, int]] = []
        self.allowed = [ipaddress.ip_network(n) for n in connect_allowed]
        self.socks: dict[int, socket.socket] = {}           # session -> its socket
        self.connecting: set[int] = set()
        self.early: dict[int, int] = {}     # session -> bytes of its TX the host took since the last poll
        for host, host_port, toe_port in forwards:
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                ls.bind((host, host_port))
                ls.listen(16)
            except OSError:
                ls.close()
                self.shutdown()         # the ones already listening, too
                raise
            ls.setblocking(False)
            self.selector.register(ls, selectors.EVENT_READ)
            self.listeners.append((ls, toe_port))

    @property
    def ports(self) -> list[int]:
        """The host ports forwarded, in order (useful when 0 asked the host to choose)."""
        return [ls.getsockname()[1] for ls, _ in self.listeners]

    def may_connect(self, addr: int, port: int) -> bool:
        ip = ipaddress.ip_address(addr)
        return any(ip in net for net in self.allowed)

    def connect(self, toe: Toe, s: int, addr: int, port: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect_ex((str(ipaddress.ip_address(addr)), port))
        self._add(s, sock)
        self.connecting.add(s)

    def _add(self, s: int, sock: socket.socket) -> None:
        self.socks[s] = sock
        self.selector.register(sock, selectors.EVENT_READ)

    def transmit(self, toe: Toe, s: int) -> None:
        """A session's TX buffer grew: hand the host what it takes now, so that the bytes leave
        without waiting for the next poll. The tenant sees them taken only at that poll (a
        "sent" event, with what this poll takes as well): how much the host took is an input
        like any other, and inputs arrive at polls."""
        sock, tx = self.socks.get(s), toe.sessions[s].tx
        early = self.early.get(s, 0)
        if sock is None or s in self.connecting or early >= len(tx) \
                or toe.sessions[s].state not in (ESTABLISHED, PEER_CLOSED):
            return
        try:
            with memoryview(tx) as view:
                self.early[s] = early + sock.send(view[early:])
        except OSError:
            pass                    # full, reset or closed: the next poll sees it

    def close(self, toe: Toe, s: int) -> None:
        sock = self.socks.pop(s, None)
        self.early.pop(s, None)
        self.connecting.discard(s)
        if sock is not None:
            self.selector.unregister(sock)
            sock.close()

    def poll(self, toe: Toe) -> list[tuple]:
        """Everything that happened since the last poll, as events for ``Toe.apply``."""
        events: list[tuple] = []
        readable = {key.fileobj for key, _ in self.selector.select(0)}
        for ls, toe_port in self.listeners:
            # Until a tenant listens on the port, connections wait in the host's backlog, as
            # they would for a server still starting; once one does, each goes to a free
            # session of its tenant, or is refused.
            listener = toe.listener_on(toe_port)
            while ls in readable and listener is not None:
                try:
                    conn, (peer, peer_port) = ls.accept()
                except (BlockingIOError, InterruptedError):
                    break
                conn.setblocking(False)
                target = toe.free_session_for(listener)
                if target is None:
                    conn.close()
                    events.append(("refused", listener, toe.regs[("S_OWNER", listener)]))
                    continue
                self._add(target, conn)
                readable.add(conn)                            # it may have brought data already
                toe.sessions[target].state = ESTABLISHED     # claimed now: the next accept looks on
                events.append(("accepted", target, listener, int(ipaddress.ip_address(peer)), peer_port))
        for s, sock in list(self.socks.items()):
            sess = toe.sessions[s]
            if s in self.connecting:
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err == 0:
                    try:
                        sock.getpeername()
                    except OSError:
                        continue                              # still connecting
                    self.connecting.discard(s)
                    events.append(("connected", s))
                elif err not in (errno.EINPROGRESS, errno.EALREADY):
                    self.close(toe, s)
                    events.append(("connect_failed", s))
                continue
            if sess.state not in (ESTABLISHED, PEER_CLOSED):
                continue
            room = BUFFER - len(sess.rx)
            if room > 0 and sess.state == ESTABLISHED and sock in readable:
                try:
                    data = sock.recv(room)
                except (BlockingIOError, InterruptedError):
                    data = None
                except OSError:
                    self.close(toe, s)
                    events.append(("reset", s))
                    continue
                if data:
                    events.append(("data", s, data))
                elif data == b"":
                    events.append(("eof", s))
            sent = self.early.pop(s, 0)        # taken already (transmit)
            if sent < len(sess.tx):
                try:
                    with memoryview(sess.tx) as view:
                        sent += sock.send(view[sent:])
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    self.close(toe, s)
                    events.append(("reset", s))
                    continue
            if sent:
                events.append(("sent", s, sent))
        return events

    def shutdown(self) -> None:
        for ls, _ in self.listeners:
            ls.close()
        for sock in self.socks.values():
            sock.close()
        self.socks.clear()
        self.selector.close()


class ReplayNet:
    """The network of a recorded run: at each poll, the events recorded for that virtual time,
    and no socket at all. Outbound connects and closes only take effect through the events."""

    def __init__(self, events: list[tuple]):
        self.events = sorted(events, key=lambda e: e[0])
        self._at = 0

    def may_connect(self, addr: int, port: int) -> bool:
        return True                 # the recording says what the live policy allowed

    def connect(self, toe: Toe, s: int, addr: int, port: int) -> None:
        pass

    def transmit(self, toe: Toe, s: int) -> None:
        pass                        # what the host took comes with the recorded "sent" events

    def close(self, toe: Toe, s: int) -> None:
        pass

    def poll(self, toe: Toe) -> list[tuple]:
        now = toe.clock.now()
        poll_time = now - now % POLL_TICKS
        out = []
        while self._at < len(self.events) and self.events[self._at][0] <= poll_time:
            out.append(tuple(self.events[self._at][1:]))
            self._at += 1
        return out
