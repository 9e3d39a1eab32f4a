"""The TOE's network from the command line: ``--toe``, ``--record`` and ``--replay``.

``--toe`` takes QEMU's user-network syntax for what it has: ``hostfwd=tcp:[HOST]:HPORT-:PORT``
(a host port forwarded to the TOE port a tenant listens on; HOST defaults to 127.0.0.1, HPORT 0
lets the host choose) and ``connect=NET`` (an IPv4 network outbound connections may reach;
without one, loopback only), comma-separated or in several ``--toe`` options.

``--record FILE`` writes every external input with its virtual time, one JSON line each, flushed
as it happens, so a run cut short keeps what it had: each network event with the time of the
poll that saw it, and each chunk a terminal typed to the UART (``--input -``) with the time the
guest took it. ``--replay FILE`` gives them back at those times, opens no socket and reads no
terminal: the run is the same to the instruction.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .errors import EmuError

_HOSTFWD = re.compile(r"tcp:(?P<host>[^:]*):(?P<hport>\d+)-:(?P<port>\d+)")
MAX_EVENT_BYTES = 1 << 20           # a data event is at most one receive of a 64 KiB buffer
UART = "uart"                       # the event of a chunk of terminal input to the UART
UART_INPUT = "uart_input"           # --input given whole (a file, text, a pipe): queued at the start
MAX_RECORD_BYTES = 1 << 30


@dataclass
class ToeOptions:
    forwards: list[tuple[str, int, int]] = field(default_factory=list)
    connect: list[str] = field(default_factory=list)


def parse_toe(specs: list[str]) -> ToeOptions:
    """``--toe`` options, each one line of EmuError if it is not what we take."""
    out = ToeOptions()
    for spec in specs:
        for item in spec.split(","):
            key, _, value = item.partition("=")
            if key == "hostfwd":
                m = _HOSTFWD.fullmatch(value)
                if not m:
                    raise EmuError(f"--toe {item!r}: expected hostfwd=tcp:[HOST]:HPORT-:PORT")
                host = m["host"] or "127.0.0.1"
                hport, port = int(m["hport"]), int(m["port"])
                try:
                    ipaddress.IPv4Address(host)
                except ValueError:
                    raise EmuError(f"--toe {item!r}: {host!r} is not an IPv4 address") from None
                if hport > 65535 or not 0 < port <= 65535:
                    raise EmuError(f"--toe {item!r}: ports are 1 to 65535 (0 for the host port: any)")
                out.forwards.append((host, hport, port))
            elif key == "connect":
                try:
                    out.connect.append(str(ipaddress.IPv4Network(value, strict=False)))
                except ValueError:
                    raise EmuError(f"--toe {item!r}: {value!r} is not an IPv4 network such as 127.0.0.0/8") from None
            else:
                raise EmuError(f"--toe {item!r}: expected hostfwd=tcp:[HOST]:HPORT-:PORT or connect=NET")
    return out


def _encode(value):
    return {"hex": value.hex()} if isinstance(value, (bytes, bytearray)) else value


def _decode(value):
    return bytes.fromhex(value["hex"]) if isinstance(value, dict) else value


class EventLog(list):
    """The TOE's record list, written through to ``out`` as JSON lines as events come."""

    def __init__(self, out: IO[str]):
        super().__init__()
        self.out = out

    def append(self, item) -> None:
        super().append(item)
        self.out.write(json.dumps([_encode(v) for v in item]) + "\n")
        self.out.flush()


def _valid(event: tuple) -> bool:
    """Whether a decoded line is an event Toe.apply can take, every field in its range."""
    def ints(values, *ranges):
        return len(values) == len(ranges) and all(
            isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi for v, (lo, hi) in zip(values, ranges))

    session, u32, port = (0, 15), (0, 0xFFFF_FFFF), (0, 0xFFFF)
    if len(event) < 2 or not ints(event[:1], (0, 1 << 62)):
        return False
    kind, rest = event[1], list(event[2:])
    if kind == "accepted":
        return ints(rest, session, session, u32, port)
    if kind == "refused":
        return ints(rest, (-1, 15), (0, 255))
    if kind == "data":
        return len(rest) == 2 and ints(rest[:1], session) and isinstance(rest[1], bytes) \
            and 0 < len(rest[1]) <= MAX_EVENT_BYTES
    if kind == "sent":
        return ints(rest, session, (1, MAX_EVENT_BYTES))
    if kind in ("eof", "reset", "connected", "connect_failed"):
        return ints(rest, session)
    if kind in (UART, UART_INPUT):
        return len(rest) == 1 and isinstance(rest[0], bytes) and 0 < len(rest[0]) <= MAX_EVENT_BYTES
    return False


def load_events(path: str | Path) -> list[tuple]:
    """A recording made by ``--record``; anything else is one line of EmuError."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(MAX_RECORD_BYTES + 1)
    except OSError as err:
        raise EmuError(f"--replay {path}: cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise EmuError(f"--replay {path}: not a recording (not text)") from None
    if len(text) > MAX_RECORD_BYTES:
        raise EmuError(f"--replay {path}: larger than {MAX_RECORD_BYTES >> 20} MiB")
    events = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            raw = json.loads(line)
            event = tuple(_decode(v) for v in raw) if isinstance(raw, list) else ()
            ok = _valid(event)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            ok = False
        if not ok:
            raise EmuError(f"--replay {path}: line {n} is not a network event of a recording")
        events.append(event)
    return events
