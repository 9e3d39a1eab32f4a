"""Fuzz the GDB remote-protocol server through a real ``emu debug``.

A case is a burst: one to four packets, most of them damaged one way or another, written to
the server in one to three pieces. The packets: memory reads and writes (``m``/``M``/``X``)
and register access (``p``/``P``/``g``/``G``) with lengths and numbers on the edges (0, all
ones, past 64 bits, past PacketSize), bad hex and escaped binary data; breakpoints and
watchpoints (``Z``/``z``) of every kind, known or not; ``qXfer`` with huge offsets and
lengths; monitor commands, known words with random arguments or random bytes; ``c``/``s``/
``C``/``S`` and ``vCont`` variants, resuming at random addresses (0, 1, unaligned, a device,
the top of the address space, past 64 bits); queries and unknown letters. The framing is
damaged too: bad or non-hex checksums, packets cut short, a ``$`` inside a packet, dangling
escapes and run-length markers, packets longer than PacketSize, acks, line noise and Ctrl-C
bytes between and inside packets.

After each burst the client does what a user would: Ctrl-C, then a marker monitor command
(``qRcmd`` of ``probe-N``, answered with a console line naming it), sent again with another
Ctrl-C every half second in case the burst left a packet open that swallowed it. The case is
clean when the marker comes back, then ``?`` gives a well-formed stop reply and ``g`` the
whole register file in hex, all within the guard, and the server's stderr has no traceback,
no line that is not ``emu:``, and no ``emu: gdb: packet`` line (a handler let an exception
reach the server's last-resort catch: input it did not check).

One ``emu debug`` serves a batch of cases (starting it costs half a second, a burst a few
milliseconds). Every continue has a budget (``--max-insns``), so a run ends by itself unless
the guest is somewhere the budget cannot see (a PC the CPU cannot fetch from). The batch's
last case ends the session the ways a client can: ``k``, ``vKill``, ``D`` (then attach
again and kill), or a disconnect (even mid-packet; then attach again, ``?``, kill). The
server must then exit within the guard, with the guest's exit code if the session saw the
guest end and 0 otherwise (after ``D``, any code: the guest runs on to its end or its
budget).

A case repeats only with the batch before it (the server's state is the batch's history):
rerun the suite with the same seed and count.
"""

from __future__ import annotations

import random
import re
import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable, NamedTuple

import harness

from emu.debug import gdbregs
from emu.debug.gdbproto import PACKET_SIZE, Packet, PacketReader, checksum, frame

NAME = "gdb"
LONG_CASES = 3000
IMAGES = ("solo", "demo", "irq")
BATCH = 40                # cases per server
MAX_INSNS = 20000         # each continue's budget
GUARD_S = 15.0            # a wall-clock guard against a hang, far above what a case takes
RETRY_S = 0.5             # the probe's Ctrl-C and marker again, this often
ENDINGS = ("kill", "vkill", "detach", "disconnect", "disconnect-mid-packet")

RAM = 0x40000000
G_HEX = 2 * sum(r.size for r in gdbregs.REGISTERS[:gdbregs.G_PACKET_COUNT])
STOP_REPLY = re.compile(rb"(T[0-9a-f]{2}([0-9a-zA-Z]+:[0-9a-f]*;)*|[SWX][0-9a-f]{2})")

_built: dict[str, Path] = {}
_server: "_Server | None" = None


class Case(NamedTuple):
    batch: int
    image: str
    chunks: tuple[bytes, ...]   # written one after the other
    end: str | None = None      # the batch's last case: how the client leaves


def setup(built: dict[str, Path]) -> None:
    _built.update(built)


def teardown() -> None:
    global _server
    if _server is not None:
        _server.kill()
        _server = None


# -- generating bursts ----------------------------------------------------------------------------

def _value(rng: random.Random) -> int:
    return rng.choice([0, 1, 2, 3, 4, 0x10, 0x800, RAM, RAM + 0x200000, RAM + 0x200002,
                       RAM + 4 * rng.randrange(0x8000), RAM + rng.randrange(0x8000000),
                       0x9000000, 0x8000000, 0x8010000, (1 << 32) - 1, 1 << 63, (1 << 64) - 4,
                       (1 << 64) - 1, 1 << 64, (1 << 80) + 5, rng.getrandbits(64), rng.getrandbits(16)])


def _length(rng: random.Random) -> int:
    return rng.choice([0, 1, 2, 4, 8, 16, 0x100, 0x1000, PACKET_SIZE // 2 - 8, PACKET_SIZE, 0x10000,
                       (1 << 32) - 1, (1 << 64) - 1, 1 << 64, 1 << 100, rng.getrandbits(rng.choice([8, 32, 64]))])


def _hex(rng: random.Random, v: int) -> bytes:
    """``v`` in hex as a client might write it, or not quite hex."""
    text = b"%x" % v
    r = rng.random()
    if r < 0.04:
        return b"-" + text
    if r < 0.08:
        return text.upper()
    if r < 0.12:
        return b"0" * rng.randrange(1, 40) + text
    if r < 0.18:
        return rng.choice([b"", b"zz", b"0x10", b" 1", b"1_0", b"+1", b"\xff", b"1 ", b"-", b"0" * 5000])
    return text


def _hex_data(rng: random.Random, n: int) -> bytes:
    data = rng.randbytes(min(n, 64) if rng.random() < 0.9 else rng.randrange(0, 0x3000))
    text = data.hex().encode()
    r = rng.random()
    if r < 0.1:
        return text[:-1]  # odd length
    if r < 0.2:
        return text.replace(b"a", b"g")
    return text


def _sig(rng: random.Random) -> bytes:
    return rng.choice([b"05", b"02", b"00", b"ff", b"0b", b"5", b"", b"zz", b"123"])


def _resume_address(rng: random.Random) -> int:
    """Where to resume: often somewhere the CPU cannot fetch from or must fault on."""
    if rng.random() < 0.5:
        return _value(rng)
    return rng.choice([0, 1, 2, 3, 5, 0x200, RAM + 0x200001, RAM + 0x200003, 0x9000000, 0x8000000,
                       (1 << 64) - 4, (1 << 64) - 1, 1 << 64])


def _resume(rng: random.Random) -> bytes:
    addr = b"" if rng.random() < 0.3 else _hex(rng, _resume_address(rng))
    verb = rng.choice([b"c", b"s", b"C", b"S"])
    if verb in (b"c", b"s"):
        return verb + addr
    return verb + _sig(rng) + (b";" + addr if addr or rng.random() < 0.2 else b"")


def _vcont(rng: random.Random) -> bytes:
    def action() -> bytes:
        verb = rng.choice([b"c", b"s", b"C05", b"S05", b"Cff", b"t", b"r0,10", b"rzz", b"x", b"", b"c5"])
        tid = rng.choice([b"", b":1", b":-1", b":0", b":2", b":zz", b":", b":p1.1"])
        return verb + tid
    if rng.random() < 0.1:
        return rng.choice([b"vCont?", b"vCont", b"vCont;", b"vCont;;", b"vCtrlC", b"vCont;c;"])
    return b"vCont" + b"".join(b";" + action() for _ in range(rng.randint(1, 4)))


MONITOR_WORDS = ["trap", "stage2", "tenant", "gic", "phys", "help", "HELP", "Trap", "frobnicate", ""]
MONITOR_ARGS = ["on", "off", "sideways", "0x40000000", "0x41000000", "0", "-1", "0xffffffffffffffff",
                "0x" + "f" * 40, "banana", "1e9", "0b101", "nan", "on off", "\u00e9", "\x00", "%s%n", "' OR 1"]


def _monitor(rng: random.Random) -> bytes:
    r = rng.random()
    if r < 0.7:
        line = " ".join([rng.choice(MONITOR_WORDS)] + [rng.choice(MONITOR_ARGS) for _ in range(rng.randrange(3))])
        text = line.encode()
    elif r < 0.85:
        text = rng.randbytes(rng.randrange(0, 64))
    else:
        text = rng.choice([b"x" * 5000, b"stage2 " + b"1" * 3000, b"help" * 1000])
    hexed = text.hex().encode()
    if rng.random() < 0.15:
        hexed = rng.choice([hexed[:-1], hexed + b"zz", b"zz", b"", b"}}"])
    return b"qRcmd," + hexed


def _point(rng: random.Random) -> bytes:
    kind = rng.choice([b"0", b"1", b"2", b"3", b"4", b"5", b"9", b"ff", b"-1", b"zz", b""])
    fields = [kind, _hex(rng, _value(rng)), _hex(rng, _length(rng))][:rng.choice([1, 2, 3, 3, 3, 3])]
    tail = rng.choice([b"", b"", b";X1,0", b";cmds:0", b",extra", b";"])
    return rng.choice([b"Z", b"z"]) + b",".join(fields) + tail


def _xfer(rng: random.Random) -> bytes:
    obj = rng.choice([b"features", b"features", b"memory-map", b"threads", b"exec-file", b"auxv"])
    annex = rng.choice([b"target.xml", b"target.xml", b"", b"../etc/passwd", b"aarch64-core.xml", b"target.xml\x00"])
    span = _hex(rng, rng.choice([0, 1, 0x100, 0x4000, (1 << 64) - 1, 1 << 70, rng.getrandbits(12)])) + b"," + _hex(rng, _length(rng))
    return b"qXfer:" + obj + b":read:" + annex + b":" + rng.choice([span, span, b"", b"1", b",", b"zz,zz"])


def _memory(rng: random.Random) -> bytes:
    kind = rng.choice([b"m", b"M", b"X"])
    addr, n = _value(rng), _length(rng)
    head = kind + _hex(rng, addr) + rng.choice([b",", b",", b",", b"", b";", b",,"]) + _hex(rng, n)
    if kind == b"m":
        return head
    if kind == b"M":
        return head + rng.choice([b":", b":", b""]) + _hex_data(rng, n)
    data = rng.randbytes(min(n, 64) if rng.random() < 0.8 else rng.randrange(0, 64))
    data += rng.choice([b"", b"}", b"$", b"#", b"*", b"\x03"])
    return head + b":" + data


def _register(rng: random.Random) -> bytes:
    regno = rng.choice([0, 31, 32, 33, 34, 66, 67, len(gdbregs.REGISTERS) - 1, len(gdbregs.REGISTERS),
                        rng.randrange(len(gdbregs.REGISTERS)), (1 << 64) - 1, 1 << 70])
    r = rng.random()
    if r < 0.35:
        return b"p" + _hex(rng, regno)
    if r < 0.8:
        size = rng.choice([1, 4, 8, 8, 8, 16, 17, 0])
        return b"P" + _hex(rng, regno) + rng.choice([b"=", b"=", b"", b"=="]) + _hex_data(rng, size)
    if r < 0.9:
        return b"g"
    n = rng.choice([G_HEX // 2, G_HEX // 2, G_HEX // 2 - 1, 0, 3])
    return b"G" + _hex_data(rng, n)


QUERIES = [b"?", b"g", b"qC", b"qfThreadInfo", b"qsThreadInfo", b"qAttached", b"qAttached:1", b"vCont?",
           b"qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=aarch64", b"qSupported:" + b"x+;" * 500,
           b"vMustReplyEmpty", b"qTStatus", b"qOffsets", b"qSymbol::", b"qThreadExtraInfo,1",
           b"qThreadExtraInfo,zz", b"Hg0", b"Hc-1", b"Hg2", b"Hx1", b"H", b"T1", b"T", b"Tzz", b"!",
           b"QNonStop:1", b"QStartNoAckMode", b"QPassSignals:e;10", b"vFile:open:2f6574632f706173737764,0,0",
           b"vAttach;1", b"vRun;", b"R00", b"r", b"i", b"I", b"bc", b"bs", b"A", b"t", b"F", b"vStopped", b""]


def _query(rng: random.Random) -> bytes:
    q = rng.choice(QUERIES)
    if q == b"QStartNoAckMode" and rng.random() < 0.8:
        q = b"qC"  # keep most batches in ack mode, the mode GDB starts in
    return q


def _random_packet(rng: random.Random) -> bytes:
    head = rng.choice(b"?!ABCFGHIMPQRSTXZbcdgimpqrstvxz\x00\x7f\xff")
    return bytes([head]) + rng.randbytes(rng.randrange(0, 48))


GENERATORS = [(_memory, 5), (_register, 4), (_point, 3), (_resume, 3), (_vcont, 2), (_monitor, 2),
              (_xfer, 2), (_query, 3), (_random_packet, 2)]


def _payload(rng: random.Random) -> bytes:
    gen = rng.choices([g for g, _ in GENERATORS], [w for _, w in GENERATORS])[0]
    p = gen(rng)
    # The session's end is the batch's last case, not something a burst may do by chance.
    while p[:1] in (b"k", b"D") or p.startswith(b"vKill"):
        p = b"q" + p[1:]
    return p


def _framed(rng: random.Random, payload: bytes) -> bytes:
    """The packet on the wire, intact most of the time, else damaged one way."""
    good = frame(payload)
    r = rng.random()
    if r < 0.6:
        return good
    body = good[1:-3]
    damage = rng.choice(["checksum", "nonhex", "cut", "no-dollar", "ctrl-c-inside", "raw-escapes", "huge",
                         "one-digit", "rle"])
    if damage == "checksum":
        return b"$" + body + b"#%02x" % ((checksum(body) + rng.randrange(1, 256)) & 0xFF)
    if damage == "nonhex":
        return b"$" + body + b"#" + rng.choice([b"zz", b"g0", b"0g", b"  ", b"\xff\xff"])
    if damage == "cut":
        return good[:rng.randrange(1, len(good))]
    if damage == "no-dollar":
        return good[1:]
    if damage == "ctrl-c-inside":
        at = rng.randrange(1, len(good))
        return good[:at] + b"\x03" + good[at:]
    if damage == "raw-escapes":
        raw = bytearray(payload)
        for _ in range(rng.randint(1, 3)):
            raw.insert(rng.randrange(len(raw) + 1), rng.choice(b"}*"))
        raw += rng.choice([b"", b"}", b"*", b"}}", b"*}"])
        return b"$" + bytes(raw) + b"#%02x" % checksum(bytes(raw))
    if damage == "huge":
        big = payload[:1] + b"0" * rng.choice([PACKET_SIZE - 8, PACKET_SIZE + 1, PACKET_SIZE + 100, 3 * PACKET_SIZE])
        return rng.choice([frame(big), b"$" + big])
    if damage == "one-digit":
        return b"$" + body + b"#" + b"%x" % rng.randrange(16)
    # rle: a run-length marker with a count character of any value
    raw = payload[:1] + b"*" + bytes([rng.randrange(256)]) + payload[1:]
    return b"$" + raw + b"#%02x" % checksum(raw)


def _between(rng: random.Random) -> bytes:
    """What may come between packets: nothing, Ctrl-C, acks, line noise."""
    r = rng.random()
    if r < 0.6:
        return b""
    if r < 0.75:
        return b"\x03" * rng.randint(1, 3)
    if r < 0.9:
        return bytes(rng.choice(b"+-") for _ in range(rng.randint(1, 3)))
    return bytes(b for b in rng.randbytes(rng.randint(1, 16)) if b not in b"$")


def _burst(rng: random.Random) -> tuple[bytes, ...]:
    wire = b"".join(_between(rng) + _framed(rng, _payload(rng)) for _ in range(rng.randint(1, 4)))
    wire += _between(rng)
    cuts = sorted(rng.sample(range(1, len(wire)), min(len(wire) - 1, rng.randint(0, 2))))
    bounds = [0, *cuts, len(wire)]
    return tuple(wire[a:b] for a, b in zip(bounds, bounds[1:]))


def cases(rng: random.Random, n: int) -> Iterable[Case]:
    batch = 0
    i = 0
    while i < n:
        image = rng.choice(IMAGES)
        size = min(BATCH, n - i)
        for j in range(size):
            last = j == size - 1
            yield Case(batch, image, _burst(rng) if not last else (), rng.choice(ENDINGS) if last else None)
        i += size
        batch += 1


# -- talking to the server ------------------------------------------------------------------------

class Finding(Exception):
    """What makes a case not clean: its kind and what was seen."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind = kind


class _Client:
    """A tolerant client: acks every packet (harmless in no-ack mode), collects console output,
    never trusts the server to answer."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=GUARD_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = PacketReader(1 << 20)
        self.packets: list[bytes] = []
        self.console = ""

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def next_packet(self, deadline: float, on_idle=None) -> bytes:
        """The next packet that is not console output; ``on_idle`` runs every RETRY_S of silence."""
        while not self.packets:
            now = time.monotonic()
            if now > deadline:
                raise Finding("hang", "no reply within the guard")
            ready, _, _ = select.select([self.sock], [], [], min(RETRY_S, deadline - now))
            if not ready:
                if on_idle is not None:
                    on_idle()
                continue
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed the connection")
            for ev in self.reader.feed(data):
                if not isinstance(ev, Packet):
                    continue
                self.send(b"+")
                if ev.payload.startswith(b"O") and ev.payload != b"OK":
                    try:
                        self.console += bytes.fromhex(ev.payload[1:].decode("ascii")).decode("utf-8", "replace")
                    except ValueError:
                        raise Finding("traceback", f"malformed console packet {ev.payload[:80]!r}") from None
                else:
                    self.packets.append(ev.payload)
        return self.packets.pop(0)

    def command(self, payload: bytes, deadline: float) -> bytes:
        self.send(frame(payload))
        return self.next_packet(deadline)


class _Server:
    """``emu debug IMAGE --gdb 127.0.0.1:0`` in its own process, stderr to a file."""

    def __init__(self, case: Case, tmp: Path):
        self.batch = case.batch
        self.err_path = tmp / "server.stderr"
        self._err_seen = 0
        self.exit_code_seen: int | None = None   # the guest's, from a W reply
        self.probes = 0
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "emu", "debug", str(_image(case.image)), "--gdb", "127.0.0.1:0",
                 "--max-insns", str(MAX_INSNS)],
                cwd=harness.ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            self.port = self._listening_port()
            self.client = _Client(self.port)
        except (Finding, OSError):
            self.proc.kill()
            self.proc.wait()
            raise

    def _listening_port(self) -> int:
        deadline = time.monotonic() + GUARD_S
        while time.monotonic() < deadline:
            m = re.search(r"gdb server listening on 127\.0\.0\.1:(\d+)", self.stderr())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise Finding("hang" if self.proc.poll() is None else "traceback",
                      f"emu debug did not start (exit {self.proc.poll()}): {self.stderr()[-400:]!r}")

    def stderr(self) -> str:
        return self.err_path.read_text("utf-8", "replace")

    def check_stderr(self) -> None:
        """The stderr written since the last check: ``emu:`` lines, none from the catch-all."""
        text = self.stderr()
        new, self._err_seen = text[self._err_seen:], len(text)
        if "Traceback (most recent call last)" in new:
            raise Finding("traceback", new[-800:])
        for line in new.splitlines():
            if line.startswith("emu: gdb: packet"):
                raise Finding("traceback", f"a handler raised: {line[:300]}")
            if line.strip() and not line.startswith("emu:"):
                raise Finding("traceback", f"unexpected stderr: {line[:300]!r}")

    def check_alive(self) -> None:
        code = self.proc.poll()
        if code is not None:
            raise Finding("traceback", f"the server exited mid-session with {code}: {self.stderr()[-600:]!r}")

    def probe(self) -> None:
        """Ctrl-C, then the marker until it comes back; then ``?`` and ``g`` must be well formed."""
        c = self.client
        self.probes += 1
        marker = f"probe-{self.probes}"
        ask = b"\x03" + frame(b"qRcmd," + marker.encode().hex().encode())
        deadline = time.monotonic() + GUARD_S
        c.console = ""
        c.send(ask)
        while f"'{marker}'" not in c.console:
            c.next_packet(deadline, on_idle=lambda: c.send(ask))
        c.packets.clear()  # replies to the burst, and the marker's OK
        c.send(frame(b"?"))
        stop = self._after_probe(deadline)
        if not STOP_REPLY.fullmatch(stop):
            raise Finding("traceback", f"'?' answered {stop[:200]!r}")
        if stop.startswith(b"W"):
            self.exit_code_seen = int(stop[1:], 16)
        c.send(frame(b"g"))
        regs = self._after_probe(deadline)
        if len(regs) != G_HEX or not re.fullmatch(rb"([0-9a-f]{2}|xx)*", regs):
            raise Finding("traceback", f"'g' answered {len(regs)} bytes: {regs[:120]!r}")

    def _after_probe(self, deadline: float) -> bytes:
        # Markers sent again arrive late, each with its OK: skip them.
        while True:
            reply = self.client.next_packet(deadline)
            if reply != b"OK":
                return reply

    def end(self, how: str) -> None:
        """Leave the session as ``how`` says; the server must exit within the guard."""
        c = self.client
        deadline = time.monotonic() + GUARD_S
        any_code = False
        if how == "kill":
            c.send(frame(b"k"))
        elif how == "vkill":
            if c.command(b"vKill;1", deadline) != b"OK":
                raise Finding("traceback", "vKill not answered OK")
        elif how == "detach":
            if c.command(b"D", deadline) != b"OK":
                raise Finding("traceback", "D not answered OK")
            any_code = True  # the guest runs on: to its end, its budget, or our kill
            c.close()
            self._reattach_and_kill(deadline)
        else:
            if how == "disconnect-mid-packet":
                c.send(b"$m4020")
            c.close()
            self._reattach_and_kill(deadline, check_stop=True)
        c.close()
        try:
            code = self.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise Finding("hang", f"still running {GUARD_S:.0f} s after '{how}'") from None
        self.check_stderr()
        want = self.exit_code_seen if self.exit_code_seen is not None else 0
        if code < 0 or (not any_code and code != want):
            raise Finding("traceback", f"after '{how}' exit {code}, expected {want}: {self.stderr()[-400:]!r}")

    def _reattach_and_kill(self, deadline: float, check_stop: bool = False) -> None:
        """Attach again (the server turns newcomers away while it tidies up) and kill; nothing
        to do if the server has ended by itself."""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return
            try:
                c = _Client(self.port)
                try:
                    stop = c.command(b"?", deadline)
                    if stop != b"E01":  # E01: turned away, the last client is still being tidied up
                        if check_stop and not STOP_REPLY.fullmatch(stop):
                            raise Finding("traceback", f"'?' after reattaching answered {stop[:200]!r}")
                        c.send(frame(b"k"))
                        return
                finally:
                    c.close()
            except (OSError, ConnectionError):
                pass
            time.sleep(0.05)
        raise Finding("hang", "could not attach again")

    def kill(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _image(name: str) -> Path:
    if name not in _built:
        raise RuntimeError("fz_gdb needs the built images: run it through scripts/fuzz.py, the fuzz_run "
                           "fixture, or harness.run_suite(..., built=...)")
    return _built[name]


def check(case: Case, tmp: Path) -> harness.Outcome:
    global _server
    try:
        if _server is not None and _server.batch != case.batch:
            teardown()  # a batch cut short by a finding
        if _server is None:
            _server = _Server(case, tmp)
        s = _server
        for chunk in case.chunks:
            s.client.send(chunk)
        if case.end is None:
            s.probe()
            s.check_alive()
            s.check_stderr()
        else:
            s.probe()
            s.end(case.end)
            _server = None
        return harness.Outcome("clean")
    except Finding as f:
        outcome = harness.Outcome(f.kind, f"batch {case.batch}: {f}")
    except TimeoutError:  # a send that the server did not take within the guard
        outcome = harness.Outcome("hang", f"batch {case.batch}: the server stopped reading")
    except (OSError, ConnectionError) as err:
        outcome = harness.Outcome("traceback", f"batch {case.batch}: connection: {err}")
        if _server is not None:
            try:
                code = _server.proc.wait(1.0)
            except subprocess.TimeoutExpired:
                code = None
            outcome.detail += f"; the server's exit code: {code}"
    if _server is not None:
        try:
            _server.check_stderr()  # a traceback explains a lost connection better
        except Finding as f:
            outcome = harness.Outcome(f.kind, f"batch {case.batch}: {f}")
        except OSError:
            pass
    teardown()
    return outcome
