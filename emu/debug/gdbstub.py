"""A GDB remote-protocol server, so that ``gdb-multiarch`` can step-debug the guest.

Usage: ``emu debug IMAGE --gdb :1234`` (or ``emu run IMAGE --gdb :1234``), then in GDB
``target remote :1234``. The guest does not run until the client continues. See
docs/debugging.md for a worked session.

How execution control maps onto Unicorn (all through the machine's public API):

- *Breakpoints* (``Z0``/``Z1``) are ``UC_HOOK_CODE`` hooks bounded to one address that call
  ``Machine.pause(Stop.BREAKPOINT)``. Unicorn checks for a stop request right after a code hook,
  so the instruction at the breakpoint has not executed when the run returns. Unicorn
  instruments an address only when it translates it, so the translation cache is flushed
  whenever a code hook comes or goes.
- *Single step* is a code hook over the whole address space that pauses at its second call:
  the first call is the instruction being stepped, the second is whatever runs next (the
  following instruction, a branch target, or the vector an exception entered). Counting
  instructions with ``run(max_insns=1)`` would not do: the instruction counter stops at
  translation-block boundaries.
- *Watchpoints* (``Z2``-``Z4``) are ``UC_HOOK_MEM_WRITE``/``READ`` hooks over the watched range
  that note the hit; the run stops at the next instruction boundary, after the access, through
  a code hook over the whole address space that exists only while watchpoints do. Stopping
  from inside the access would not do: Unicorn completes the access and then rewinds PC to
  the instruction, which runs again on resume, so a device register would see the access
  twice and a store-exclusive would fail its second time (a lock would never be taken).
  An AArch64 watchpoint exception is taken *before* the access (Arm DDI 0487, D2.10.5) and GDB
  knows it: after a watchpoint stop it steps over the instruction itself before reporting.
  That step is already done here, so the server answers it without running anything; the
  user sees the stop right after the accessing instruction, as on x86.
- *Resuming from a breakpoint*: its hook would fire again at once, so a continue first steps
  one instruction with breakpoints ignored, as a debugger does with a real breakpoint
  instruction.
- *Ctrl-C*: the machine runs in a worker thread while this thread watches the socket; a 0x03
  byte calls ``Machine.pause(Stop.DEBUGGER_INTERRUPT)``, which is safe from another thread.
- ``monitor trap on``: an observer on ``Cpu.observers`` pauses the run at every exception
  entry to EL2, i.e. before the first instruction of the hypervisor's vector.

Memory reads and writes (``m``/``M``/``X``) use addresses as the CPU sees them at its current
EL (Machine.translate: stage 1 when that EL's MMU is on, then stage 2 for EL1), or physical
addresses after ``monitor phys on``. Only RAM and ROM are accessible: a device register read
from the debugger could change device state (a UART read pops its FIFO), so MMIO reads
answer E01.

One client at a time. A client that disconnects, even mid-run, leaves the machine paused and
the server listening for the next one; ``detach`` lets the guest run on freely while the
server waits; ``kill`` or the guest's end closes the server.
"""

from __future__ import annotations

import select
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TextIO

from unicorn import UC_HOOK_CODE, UC_HOOK_MEM_READ, UC_HOOK_MEM_WRITE, UcError
from unicorn.arm64_const import UC_ARM64_REG_PC

from ..errors import EmuError
from ..machine import EXIT_GUEST_FAULT, Machine
from ..stop import RunResult, Stop
from . import gdbregs
from .gdbmonitor import describe_trap, run_command
from .gdbproto import (
    PACKET_SIZE,
    Ack,
    BadPacket,
    Interrupt,
    Packet,
    PacketReader,
    console_output,
    frame,
    hex_le,
    parse_hex,
    parse_hex_le,
    unhex,
)

# POSIX signal numbers as GDB's stop replies use them.
SIGINT = 2
SIGTRAP = 5
SIGSEGV = 11
SIGXCPU = 24

PAGE = 0x1000
# Largest 'm' reply: two hex digits per byte must fit in a packet.
MAX_READ = (PACKET_SIZE - 16) // 2
# A Ctrl-C may reach the machine just before a run starts and be lost; ask again this often.
INTERRUPT_RETRY_S = 0.2
# Packets a client sends while the guest runs wait for the stop (GDB sends none in all-stop
# mode); past this many they are refused ('-', send again), so the queue cannot grow unbounded.
MAX_QUEUED_WHILE_RUNNING = 64

Z_SW_BREAK, Z_HW_BREAK, Z_WRITE_WATCH, Z_READ_WATCH, Z_ACCESS_WATCH = range(5)
_WATCH_NAMES = {Z_WRITE_WATCH: "watch", Z_READ_WATCH: "rwatch", Z_ACCESS_WATCH: "awatch"}

_RESUME = object()  # a handler's answer meaning "run the machine, then reply with the stop"


@dataclass
class _Point:
    kind: int
    addr: int
    length: int
    hook: int


class _Session:
    """One connected client: its socket, its packet reader, the ack mode it asked for."""

    def __init__(self, conn: socket.socket):
        self.conn = conn
        self.reader = PacketReader(PACKET_SIZE + 64)
        self.events: deque = deque()
        self.no_ack = False
        self.last_sent: bytes | None = None
        self.open = True

    def send_raw(self, data: bytes) -> None:
        try:
            self.conn.sendall(data)
        except OSError:
            self.open = False

    def send(self, payload: bytes) -> None:
        data = frame(payload)
        self.last_sent = data
        self.send_raw(data)

    def receive(self, timeout: float | None) -> bool:
        """Wait for bytes and queue their events; False when the client has gone."""
        try:
            ready, _, _ = select.select([self.conn], [], [], timeout)
            if not ready:
                return True
            data = self.conn.recv(65536)
        except (OSError, ValueError):
            data = b""
        if not data:
            self.open = False
            return False
        self.events.extend(self.reader.feed(data))
        return True


class GdbServer:
    def __init__(self, machine: Machine, host: str = "127.0.0.1", port: int = 1234, *,
                 log: TextIO | None = None, max_insns: int | None = None):
        self.m = machine
        self.log = log if log is not None else sys.stderr
        self.max_insns = max_insns
        try:
            self._listener = socket.create_server((host, port), backlog=1)
        except OSError as err:
            raise EmuError(f"gdb server: cannot listen on {host}:{port}: {err.strerror or err}") from None
        self.host, self.port = self._listener.getsockname()[:2]

        self.phys = False
        self.trap = False
        self._points: dict[tuple[int, int, int], _Point] = {}
        self._stepping = False       # breakpoints do not fire on the instruction being stepped
        self._watch_hit = False      # a watched access happened: stop at the next boundary
        self._watch_hook: int | None = None
        self._absorb_step = False    # the step GDB takes after a watchpoint stop is already done
        self._hit: tuple[str, int] | None = None   # what paused the run: ("swbreak", addr), ...
        self._trap_entry = None
        self._last_stop: bytes = b"T%02xthread:1;" % SIGTRAP
        self._g_thread = 0           # Hg: the thread (core + 1) registers and memory come from
        self._c_thread = 0           # Hc / vCont s:TID: the thread a step steps
        self.ended: RunResult | None = None        # the guest ended the run
        self._runner: threading.Thread | None = None
        self._run_result: RunResult | None = None
        # The run thread says it has finished through this pair, so that one select() waits
        # for the client and the machine together: no polling delay on every stop.
        self._wake_r, self._wake_w = socket.socketpair()
        self._session: _Session | None = None
        self._action = "continue"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # -- the accept loop ---------------------------------------------------------------------

    def serve(self) -> int:
        """Serve clients until the guest ends or a client kills it; returns the exit code."""
        try:
            self._prime()
            self.log.write(f"emu: gdb server listening on {self.address}\n")
            self.log.flush()
            while True:
                conn = self._accept()
                if conn is None:  # the guest ended while running detached
                    self.log.write("emu: guest ended; gdb server closing\n")
                    return self._exit_code()
                outcome = self._serve_client(conn)
                self._forget_client()
                if outcome == "killed":
                    self.log.write("emu: gdb client killed the guest\n")
                    return self._exit_code()
                if self.ended is not None:
                    self.log.write("emu: guest ended; gdb server closing\n")
                    return self._exit_code()
                if outcome == "detached":
                    self.log.write(f"emu: gdb client detached; the guest runs on; listening on {self.address}\n")
                    self._start("continue")
                else:
                    self.log.write(f"emu: gdb client disconnected; guest paused; listening on {self.address}\n")
                self.log.flush()
        finally:
            self.close()

    def close(self) -> None:
        self._halt()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    def _exit_code(self) -> int:
        r = self.ended
        if r is None:
            return 0
        if r.diagnostic:
            self.log.write(f"emu: {r.reason}: {r.diagnostic}\n")
        return r.exit_code

    def _accept(self) -> socket.socket | None:
        while True:
            ready, _, _ = select.select([self._listener, self._wake_r], [], [])
            if self._wake_r in ready:
                self._drain_wake()
            if self._listener in ready:
                try:
                    conn, _addr = self._listener.accept()
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    continue  # the client gave up before we took it
                if self._runner is not None:
                    # Attaching to a guest that runs detached: stop it where it is.
                    self._note_stop(self._halt())
                return conn
            if self._runner is not None and self._run_result is not None:
                result = self._collect()
                self._note_stop(result)
                if result.paused:
                    self._start("continue")  # nothing of ours is armed; keep the guest going
                    continue
                self.ended = result  # ended or crashed with nobody attached: we are done
                return None

    def _forget_client(self) -> None:
        # A new client knows nothing of the old one's breakpoints or monitor switches.
        for key in list(self._points):
            self._remove_point(*key)
        self.set_trap(False)
        self.phys = False
        if self._session is not None:
            try:
                self._session.conn.close()
            except OSError:
                pass
        self._session = None

    # -- one client ---------------------------------------------------------------------------

    def _serve_client(self, conn: socket.socket) -> str:
        s = self._session = _Session(conn)
        while True:
            if not s.events:
                if not self._wait_for_input(s):
                    return "disconnected"
                continue
            ev = s.events.popleft()
            if isinstance(ev, Ack):
                if not ev.ok and not s.no_ack and s.last_sent is not None:
                    s.send_raw(s.last_sent)
                continue
            if isinstance(ev, Interrupt):
                continue  # already stopped: the stop reply GDB waits for is on its way or sent
            if isinstance(ev, BadPacket):
                if not s.no_ack:
                    s.send_raw(b"-")
                continue
            assert isinstance(ev, Packet)
            if not s.no_ack:
                s.send_raw(b"+")
            outcome = self._dispatch(s, ev.payload)
            if outcome in ("killed", "detached"):
                return outcome
            if not s.open:
                return "disconnected"

    def _wait_for_input(self, s: _Session) -> bool:
        """Block until the client sends something; turn away anyone else who connects."""
        while True:
            try:
                ready, _, _ = select.select([s.conn, self._listener], [], [])
            except (OSError, ValueError):
                return False
            if self._listener in ready:
                self._refuse_second_client()
            if s.conn in ready:
                return s.receive(0)

    def _refuse_second_client(self) -> None:
        try:
            other, _ = self._listener.accept()
            other.sendall(frame(console_output("emu: another gdb client is attached\n")) + frame(b"E01"))
            other.close()
        except OSError:
            pass

    def _dispatch(self, s: _Session, payload: bytes) -> str | None:
        try:
            reply = self._handle(payload)
        except Exception as err:  # a bad packet must never take the server down
            self.log.write(f"emu: gdb: packet {payload[:32]!r}: {type(err).__name__}: {err}\n")
            reply = b"E01"
        if reply is _RESUME:
            return self._resume_and_report(s)
        if isinstance(reply, tuple):  # (outcome, reply to send first)
            outcome, text = reply
            if text is not None:
                s.send(text)
            return outcome
        if payload.startswith(b"QStartNoAckMode") and reply == b"OK":
            s.send(reply)
            s.no_ack = True
            return None
        s.send(reply)
        return None

    # -- packets -----------------------------------------------------------------------------

    def _handle(self, p: bytes):
        if not p:
            return b""
        if p[:1] in (b"c", b"s", b"C", b"S", b"v", b"H", b"D", b"k"):
            return self._handle_core(p)
        # Registers, memory and translation are those of the thread (core) GDB selected.
        with self.m.viewing(self._selected_core(self._g_thread)):
            return self._handle_core(p)

    def _selected_core(self, thread: int) -> int:
        """The core index a thread ID means: 0 or -1 is the core that ran last."""
        return thread - 1 if thread > 0 else self.m.core.index

    def _handle_core(self, p: bytes):
        c = p[:1]
        body = p[1:]
        if c == b"?":
            return self._last_stop
        if c == b"g":
            return b"".join(hex_le(gdbregs.read_register(self.m, i), r.size)
                            for i, r in enumerate(gdbregs.REGISTERS[:gdbregs.G_PACKET_COUNT]))
        if c == b"G":
            return self._write_all_registers(body)
        if c == b"p":
            return self._read_register(body)
        if c == b"P":
            return self._write_register(body)
        if c == b"m":
            return self._read_memory_packet(body)
        if c == b"M":
            return self._write_memory_packet(body, binary=False)
        if c == b"X":
            return self._write_memory_packet(body, binary=True)
        if c in (b"Z", b"z"):
            return self._point_packet(c == b"Z", body)
        if c in (b"c", b"s", b"C", b"S"):
            return self._resume_packet(c, body)
        if c == b"v":
            return self._v_packet(p)
        if c == b"q":
            return self._query(p)
        if c == b"Q":
            return b"OK" if p == b"QStartNoAckMode" else b""
        if c == b"H":
            if body[:1] not in (b"g", b"c") or self._thread_ok(body[1:]) != b"OK":
                return b"E01"
            n = self._thread_id(body[1:])
            if body[:1] == b"g":
                self._g_thread = n
            else:
                self._c_thread = n
            return b"OK"
        if c == b"T":
            return self._thread_ok(body)
        if c == b"D":
            return ("detached", b"OK")
        if c == b"k":
            return ("killed", None)
        return b""  # unknown packets get the empty reply, as the protocol asks

    @staticmethod
    def _thread_id(tid: bytes) -> int:
        return parse_hex(tid) if tid != b"-1" else -1

    def _thread_ok(self, tid: bytes) -> bytes:
        # One thread per core, numbered from 1; 0 means "any" and -1 "all".
        try:
            n = self._thread_id(tid)
        except ValueError:
            return b"E01"
        return b"OK" if n in (-1, 0) or 1 <= n <= len(self.m.cores) else b"E01"

    def _query(self, p: bytes) -> bytes:
        if p.startswith(b"qSupported"):
            return (b"PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;QStartNoAckMode+"
                    % PACKET_SIZE)
        if p.startswith(b"qXfer:features:read:"):
            return self._xfer_features(p[len(b"qXfer:features:read:"):])
        if p == b"qAttached" or p.startswith(b"qAttached:"):
            return b"1"  # attached to a machine that exists without us: quitting GDB detaches
        if p == b"qC":
            return b"QC%x" % (self.m.core.index + 1)
        if p == b"qfThreadInfo":
            return b"m" + b",".join(b"%x" % (c.index + 1) for c in self.m.cores)
        if p == b"qsThreadInfo":
            return b"l"
        if p.startswith(b"qThreadExtraInfo,"):
            try:
                n = self._thread_id(p[len(b"qThreadExtraInfo,"):])
            except ValueError:
                return b"E01"
            if not 1 <= n <= len(self.m.cores):
                return b"E01"
            core = self.m.cores[n - 1]
            with self.m.viewing(core.index):
                text = f"core {core.index} at EL{core.cpu.el}" if core.powered else f"core {core.index}, off"
            return text.encode().hex().encode()
        if p.startswith(b"qRcmd,"):
            return self._monitor(p[len(b"qRcmd,"):])
        if p.startswith(b"qSymbol"):
            return b"OK"
        return b""

    def _xfer_features(self, args: bytes) -> bytes:
        annex, _, span = args.partition(b":")
        if annex != b"target.xml":
            return b"E00"
        try:
            off_s, len_s = span.split(b",")
            off, length = parse_hex(off_s), parse_hex(len_s)
        except ValueError:
            return b"E01"
        doc = gdbregs.target_xml().encode()
        chunk = doc[off:off + min(length, PACKET_SIZE - 16)]
        return (b"l" if off + len(chunk) >= len(doc) else b"m") + chunk

    def _v_packet(self, p: bytes):
        if p == b"vCont?":
            return b"vCont;c;C;s;S"
        if p.startswith(b"vCont;"):
            action = None
            for part in p[len(b"vCont;"):].split(b";"):
                verb, _, tid = part.partition(b":")
                if tid and self._thread_ok(tid) != b"OK":
                    continue
                kind = verb[:1].lower()
                if kind not in (b"c", b"s") or not self._signal_ok(verb):
                    return b"E01"
                if kind == b"s" and tid:
                    self._c_thread = self._thread_id(tid)
                if action is None or kind == b"s":
                    action = kind  # a step of one thread wins over "the others continue"
            if action is None:
                return b"E01"
            self._action = "step" if action == b"s" else "continue"
            return _RESUME
        if p.startswith(b"vKill"):
            return ("killed", b"OK")
        return b""

    @staticmethod
    def _signal_ok(action: bytes) -> bool:
        """'c' and 's' take nothing; 'C' and 'S' a signal number, two hex digits."""
        if action[:1] in (b"c", b"s"):
            return len(action) == 1
        try:
            return len(action) == 3 and parse_hex(action[1:], 8) >= 0
        except ValueError:
            return False

    def _resume_packet(self, verb: bytes, body: bytes):
        # 'c [addr]', 's [addr]', 'C sig[;addr]', 'S sig[;addr]': a signal means nothing to a
        # bare-metal guest and is dropped; an address is where to resume.
        if verb in (b"C", b"S"):
            sig, _, body = body.partition(b";")
            if not self._signal_ok(verb + sig):
                return b"E01"
        if body:
            try:
                self.m.uc.reg_write(UC_ARM64_REG_PC, parse_hex(body))
            except ValueError:
                return b"E01"
        self._action = "step" if verb in (b"s", b"S") else "continue"
        return _RESUME

    # registers

    def _read_register(self, body: bytes) -> bytes:
        try:
            regno = parse_hex(body)
        except ValueError:
            return b"E01"
        if not 0 <= regno < len(gdbregs.REGISTERS):
            return b"E01"
        reg = gdbregs.REGISTERS[regno]
        try:
            return hex_le(reg.read(self.m), reg.size)
        except (UcError, KeyError, ValueError):
            return b"xx" * reg.size  # the protocol's "value unavailable"

    def _write_register(self, body: bytes) -> bytes:
        num, eq, value = body.partition(b"=")
        try:
            regno = parse_hex(num)
            if not eq or not 0 <= regno < len(gdbregs.REGISTERS):
                return b"E01"
            reg = gdbregs.REGISTERS[regno]
            gdbregs.write_register(self.m, regno, parse_hex_le(value, reg.size))
        except (ValueError, UcError, gdbregs.RegisterError):
            return b"E01"
        return b"OK"

    def _write_all_registers(self, body: bytes) -> bytes:
        regs = gdbregs.REGISTERS[:gdbregs.G_PACKET_COUNT]
        want = 2 * sum(r.size for r in regs)
        if len(body) != want:
            return b"E01"
        values = []
        pos = 0
        try:
            for r in regs:
                values.append(parse_hex_le(body[pos:pos + 2 * r.size], r.size))
                pos += 2 * r.size
        except ValueError:
            return b"E01"
        for i, v in enumerate(values):
            gdbregs.write_register(self.m, i, v)
        return b"OK"

    # memory

    def _translate(self, addr: int) -> int | None:
        if self.phys:
            return addr
        try:
            return self.m.translate(addr)
        except (UcError, EmuError):
            return None  # the stage-2 tables themselves are unreadable

    def read_memory(self, addr: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``addr``, stopping at the first page that is not memory."""
        return self.m.read_guest(addr, length, physical=self.phys)

    def write_memory(self, addr: int, data: bytes) -> bool:
        """All of ``data`` at ``addr``, or nothing if any page of it is not memory."""
        pieces = []
        pos = 0
        while pos < len(data):
            va = addr + pos
            chunk = min(len(data) - pos, PAGE - (va & (PAGE - 1)))
            pa = self._translate(va)
            if va >= 1 << 64 or pa is None or not self.m.is_memory(pa, chunk):
                return False
            pieces.append((pa, data[pos:pos + chunk]))
            pos += chunk
        try:
            for pa, piece in pieces:
                self.m.write_phys(pa, piece)
        except (UcError, EmuError):
            return False
        if pieces:
            # The debugger may have patched code: drop translations made from the old bytes.
            self.m.hooks.flush_translations()
        return True

    @staticmethod
    def _addr_len(text: bytes) -> tuple[int, int]:
        a, comma, n = text.partition(b",")
        if not comma:
            raise ValueError("expected ADDR,LENGTH")
        return parse_hex(a), parse_hex(n)

    def _read_memory_packet(self, body: bytes) -> bytes:
        try:
            addr, length = self._addr_len(body)
        except ValueError:
            return b"E01"
        if length == 0:
            return b""
        data = self.read_memory(addr, min(length, MAX_READ))
        return data.hex().encode() if data else b"E01"

    def _write_memory_packet(self, body: bytes, binary: bool) -> bytes:
        head, colon, data = body.partition(b":")
        try:
            addr, length = self._addr_len(head)
            if not colon:
                raise ValueError
            raw = data if binary else unhex(data)
        except ValueError:
            return b"E01"
        if len(raw) != length:
            return b"E01"
        return b"OK" if self.write_memory(addr, raw) else b"E01"

    # breakpoints and watchpoints

    def _point_packet(self, insert: bool, body: bytes) -> bytes:
        try:
            fields = body.split(b";", 1)[0].split(b",")  # conditions after ';' are not offered
            kind, addr, length = (parse_hex(f) for f in fields[:3])
        except (ValueError, IndexError):
            return b"E01"
        if not 0 <= kind <= 4:
            return b""  # not supported: GDB falls back or reports
        if kind >= Z_WRITE_WATCH and not (1 <= length <= PAGE and addr + length <= 1 << 64):
            return b"E01"
        if kind < Z_WRITE_WATCH:
            length = 4  # the A64 instruction size; the client's "kind" says the same
        if insert:
            self._add_point(kind, addr, length)
        else:
            self._remove_point(kind, addr, length)
        return b"OK"

    def _add_point(self, kind: int, addr: int, length: int) -> None:
        key = (kind, addr, length)
        if key in self._points:
            return
        hooks = self.m.hooks
        if kind < Z_WRITE_WATCH:
            hook = hooks.add(UC_HOOK_CODE, self._on_breakpoint, kind, begin=addr, end=addr)
        else:
            types = {Z_WRITE_WATCH: UC_HOOK_MEM_WRITE, Z_READ_WATCH: UC_HOOK_MEM_READ,
                     Z_ACCESS_WATCH: UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE}[kind]
            # Unicorn bounds a memory hook by the access's first byte; an access that starts up
            # to 15 bytes below the range (a 16-byte pair) may still touch it, so widen and
            # check the overlap in the hook.
            hook = hooks.add(types, self._on_watch, key, begin=max(0, addr - 15), end=addr + length - 1)
            if self._watch_hook is None:
                self._watch_hook = hooks.add(UC_HOOK_CODE, self._on_watch_boundary)
        self._points[key] = _Point(kind, addr, length, hook)

    def _remove_point(self, kind: int, addr: int, length: int) -> None:
        point = self._points.pop((kind, addr, length), None)
        if point is None:
            return
        hooks = self.m.hooks
        hooks.remove(point.hook)
        if kind >= Z_WRITE_WATCH and self._watch_hook is not None \
                and not any(p.kind >= Z_WRITE_WATCH for p in self._points.values()):
            hooks.remove(self._watch_hook)   # back to uninstrumented code
            self._watch_hook = None

    def _breakpoint_at(self, pc: int) -> int | None:
        for p in self._points.values():
            if p.kind < Z_WRITE_WATCH and p.addr == pc:
                return p.kind
        return None

    def _on_breakpoint(self, _uc, address: int, _size: int, kind: int) -> None:
        if self._stepping:
            return
        self._hit = ("swbreak" if kind == Z_SW_BREAK else "hwbreak", address)
        self.m.pause(Stop.BREAKPOINT)

    def _on_watch(self, _uc, access: int, address: int, size: int, _value: int, key) -> None:
        point = self._points.get(key)
        if point is None or address + size <= point.addr or address >= point.addr + point.length:
            return
        if not self._watch_hit:  # the first watched access of the instruction is reported
            self._hit = (_WATCH_NAMES[point.kind], max(address, point.addr))
            self._watch_hit = True

    def _on_watch_boundary(self, _uc, _address: int, _size: int, _ud) -> None:
        if self._watch_hit:
            self._watch_hit = False
            self.m.pause(Stop.WATCHPOINT)

    # monitor

    def set_trap(self, on: bool) -> None:
        if on:
            self.m.add_observer(self._on_exception)
        else:
            self.m.remove_observer(self._on_exception)
        self.trap = on

    def _on_exception(self, entry) -> None:
        if entry.to_el == 2:
            self._trap_entry = entry
            self.m.pause(Stop.TRAP)

    def _monitor(self, hex_text: bytes) -> bytes:
        try:
            line = unhex(hex_text).decode("utf-8", "replace")
        except ValueError:
            return b"E01"
        text = run_command(self, line)
        if self._session is not None:
            # Console output is hex, two characters a byte: keep each 'O' packet in PacketSize.
            step = (PACKET_SIZE - 16) // 2 // 4  # characters; UTF-8 may take 4 bytes each
            for i in range(0, len(text), step):
                self._session.send(console_output(text[i:i + step]))
        return b"OK"

    # -- running -----------------------------------------------------------------------------

    def _prime(self) -> None:
        """Bring the machine to its first instruction without executing it, so GDB sees the
        real reset state (EL2h, PC = entry) and any register it changes is kept."""
        self.m.start()

    def _start(self, action: str) -> None:
        self._run_result = None
        self._runner = threading.Thread(target=self._run_body, args=(action,), name="emu-gdb-run", daemon=True)
        self._runner.start()

    def _run_body(self, action: str) -> None:
        try:
            result = self._execute(action)
        except BaseException as err:  # the client gets a stop and a message, never a dead server
            result = RunResult(EXIT_GUEST_FAULT, Stop.EMULATOR_ERROR, f"{type(err).__name__}: {err}")
        self._run_result = result
        try:
            self._wake_w.send(b"!")
        except OSError:
            pass  # the server is closing

    def _drain_wake(self) -> None:
        self._wake_r.setblocking(False)
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _collect(self) -> RunResult:
        self._runner.join()
        self._runner = None
        return self._run_result

    def _halt(self) -> RunResult | None:
        """Pause a running guest and wait for the run to return; its result."""
        if self._runner is None:
            return None
        while self._runner.is_alive():
            self.m.pause(Stop.DEBUGGER_INTERRUPT)
            self._runner.join(INTERRUPT_RETRY_S)
        return self._collect()

    def _execute(self, action: str) -> RunResult:
        self._hit = None
        self._trap_entry = None
        self._watch_hit = False
        m = self.m
        if action == "step":
            return self._step()
        if self._breakpoint_at(m.cpu.pc) is not None:
            result = self._step()
            if not (result.paused and result.stop is Stop.STEP):
                return result
            kind = self._breakpoint_at(m.cpu.pc)
            if kind is not None:
                self._hit = ("swbreak" if kind == Z_SW_BREAK else "hwbreak", m.cpu.pc)
                return RunResult(None, Stop.BREAKPOINT)
        return m.run(max_insns=self.max_insns)

    def _step(self) -> RunResult:
        m = self.m
        if self._c_thread > 0:
            m.focus(self._c_thread - 1)   # GDB steps the thread it selected
        start = m.cpu.pc
        calls = [0]

        def on_code(_uc, address, _size, _ud):
            calls[0] += 1
            # The first call is the instruction being stepped, unless something (an interrupt
            # taken at this boundary) moved the PC before it ran: then stop at once.
            if calls[0] > 1 or address != start:
                m.pause(Stop.WATCHPOINT if self._watch_hit else Stop.STEP)

        self._stepping = True
        hook = m.hooks.add(UC_HOOK_CODE, on_code)
        try:
            return m.run()
        finally:
            m.hooks.remove(hook)  # leave no per-instruction instrumentation behind
            self._stepping = False

    def _resume_and_report(self, s: _Session) -> str | None:
        if self.ended is not None:
            s.send(self._last_stop)  # nothing left to run: the exit again
            return None
        absorb, self._absorb_step = self._absorb_step, False
        if absorb and self._action == "step":
            self._last_stop = b"T%02xthread:1;" % SIGTRAP
            s.send(self._last_stop)  # GDB's step over the watched access: done already
            return None
        self._start(self._action)
        asked_at = None
        # The result, not the thread's liveness, says the run is over: the thread is still
        # alive for a moment after it has sent its wake-up byte.
        while self._run_result is None:
            # First what is already queued: a Ctrl-C may have come in the same read as the
            # packet that started this run.
            if self._take_interrupts(s):
                self.m.pause(Stop.DEBUGGER_INTERRUPT)
                asked_at = time.monotonic()
            if asked_at is not None and time.monotonic() - asked_at > INTERRUPT_RETRY_S:
                self.m.pause(Stop.DEBUGGER_INTERRUPT)  # the first request raced with the start of a run
                asked_at = time.monotonic()
            timeout = INTERRUPT_RETRY_S if asked_at is not None else None
            try:
                ready, _, _ = select.select([s.conn, self._wake_r], [], [], timeout)
            except (OSError, ValueError):
                ready = [s.conn]
            if self._wake_r in ready:
                self._drain_wake()
            if s.conn in ready and not s.receive(0):
                # The client left mid-run: stop the guest and keep it for the next client.
                self._note_stop(self._halt())
                return "disconnected"
        result = self._collect()
        reply = self._note_stop(result)
        if self._trap_entry is not None and result.paused and result.stop is Stop.TRAP:
            s.send(console_output(self._describe_trap(self._trap_entry)))
        if result.diagnostic:
            s.send(console_output(f"emu: {result.reason}: {result.diagnostic}\n"))
        s.send(reply)
        return None

    def _describe_trap(self, entry) -> str:
        # The entry may come from anywhere the client resumed at (an address that is no memory
        # at all): what cannot be read is said, and the stop is still reported.
        try:
            return describe_trap(self.m, entry)
        except (EmuError, UcError) as err:
            return f"trap: exception entry to EL2 at {entry.vector:#x} ({err})\n"

    @staticmethod
    def _take_interrupts(s: _Session) -> bool:
        """While the guest runs: take the Ctrl-Cs out of the queue wherever they are, drop the
        acks (they answer replies sent before the run) and keep the packets for after the stop.
        True if there was a Ctrl-C. A packet sent mid-run must not hide a Ctrl-C behind it,
        or a guest that never stops by itself could not be stopped at all."""
        interrupted = False
        kept: deque = deque()
        for ev in s.events:
            if isinstance(ev, Interrupt):
                interrupted = True
            elif isinstance(ev, Ack):
                continue
            elif len(kept) < MAX_QUEUED_WHILE_RUNNING:
                kept.append(ev)
            elif isinstance(ev, Packet) and not s.no_ack:
                s.send_raw(b"-")  # not taken: the client may send it again after the stop
        s.events = kept
        return interrupted

    def _note_stop(self, result: RunResult) -> bytes:
        reply = self._stop_reply(result)
        self._last_stop = reply
        self._absorb_step = bool(result.paused and result.stop is Stop.WATCHPOINT)
        if not result.paused and result.stop not in (Stop.GUEST_FAULT, Stop.INSN_LIMIT, Stop.EMULATOR_ERROR):
            self.ended = result
        return reply

    def _stop_reply(self, result: RunResult) -> bytes:
        # The thread that stopped is the core that ran last; GDB's selection follows it.
        self._g_thread = self._c_thread = 0
        thread = b"thread:%x;" % (self.m.core.index + 1)
        if result.paused:
            if result.stop in (Stop.BREAKPOINT, Stop.WATCHPOINT) and self._hit is not None:
                what, addr = self._hit
                if what in ("swbreak", "hwbreak"):
                    return b"T%02x%s:;%s" % (SIGTRAP, what.encode(), thread)
                return b"T%02x%s:%x;%s" % (SIGTRAP, what.encode(), addr, thread)
            if result.stop is Stop.DEBUGGER_INTERRUPT:
                return b"T%02x%s" % (SIGINT, thread)
            return b"T%02x%s" % (SIGTRAP, thread)
        # The emulator stopped a guest that crashed, or hit --max-insns: the machine is still
        # there to inspect, so this is a signal stop rather than an exit.
        if result.stop is Stop.INSN_LIMIT:
            return b"T%02x%s" % (SIGXCPU, thread)
        if result.stop in (Stop.GUEST_FAULT, Stop.EMULATOR_ERROR):
            return b"T%02x%s" % (SIGSEGV, thread)
        return b"W%02x" % (result.exit_code & 0xFF)


def parse_address(spec: str) -> tuple[str, int]:
    """'[HOST:]PORT' -> (host, port); the host defaults to the loopback interface."""
    host, colon, port_text = spec.rpartition(":")
    if not colon:
        host, port_text = "", spec
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text, 10)
    except ValueError:
        raise EmuError(f"--gdb: expected [HOST:]PORT, got {spec!r}") from None
    if not 0 <= port <= 65535:
        raise EmuError(f"--gdb: port {port} is out of range")
    return host, port


def serve_gdb(machine: Machine, spec: str, *, max_insns: int | None = None, log: TextIO | None = None) -> int:
    """What ``emu debug`` / ``emu run --gdb`` do: serve until the guest ends; the exit code."""
    host, port = parse_address(spec)
    server = GdbServer(machine, host, port, log=log, max_insns=max_insns)
    return server.serve()
