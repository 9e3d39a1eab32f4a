"""GDB Remote Serial Protocol framing: packets, checksums, escaping, acknowledgements.

The wire format (GDB manual, "Remote Protocol" > "Overview"): a packet is
``$<payload>#<two hex digits>``, the digits being the payload's byte sum modulo 256. The
receiver answers ``+`` (good) or ``-`` (bad checksum: send it again) unless both ends agreed on
no-ack mode. A bare 0x03 byte outside a packet is the client's interrupt request (Ctrl-C).

Inside a payload ``}`` escapes the next byte (which is XORed with 0x20), so that binary data
(``X`` packets, ``qXfer`` replies) can carry ``$``, ``#``, ``}`` and ``*``; ``*`` followed by a
count character is run-length encoding (the previous byte repeated ``count - 29`` more times).
GDB only run-length-encodes what a server sends, but decoding it on input costs nothing and
makes the reader tolerant of clients that do.

Nothing here touches sockets or the machine, so the layer is tested on byte strings alone.
"""

from __future__ import annotations

from dataclasses import dataclass

ESCAPE = 0x7D           # '}'
ESCAPED = frozenset(b"$#}*")
INTERRUPT = 0x03

# What a reply or packet may grow to. Advertised in qSupported as PacketSize (hex); GDB then
# never sends a longer packet and sizes its memory reads so that the hex reply fits.
PACKET_SIZE = 0x4000


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def escape(data: bytes) -> bytes:
    out = bytearray()
    for b in data:
        if b in ESCAPED:
            out += bytes((ESCAPE, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


class ProtocolError(ValueError):
    """A payload that cannot be decoded (dangling escape, run length with nothing to repeat)."""


def unescape(data: bytes) -> bytes:
    """Undo escaping and run-length encoding, in the order the wire applies them."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b == ESCAPE:
            if i + 1 >= n:
                raise ProtocolError("escape character at the end of a packet")
            out.append(data[i + 1] ^ 0x20)
            i += 2
        elif b == 0x2A:  # '*': repeat the previous byte
            if not out or i + 1 >= n:
                raise ProtocolError("run-length marker with nothing to repeat")
            count = data[i + 1] - 29
            if count < 0:
                raise ProtocolError("bad run-length count")
            out += bytes((out[-1],)) * count
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def frame(payload: bytes) -> bytes:
    """A complete packet for ``payload``, escaped so that any byte may be sent."""
    body = escape(payload)
    return b"$" + body + b"#" + b"%02x" % checksum(body)


# -- events of the incoming byte stream ------------------------------------------------------------

@dataclass(frozen=True)
class Packet:
    payload: bytes


@dataclass(frozen=True)
class Ack:
    ok: bool  # '+' or '-'


@dataclass(frozen=True)
class Interrupt:
    pass


@dataclass(frozen=True)
class BadPacket:
    """A packet that arrived damaged: the sender should be asked to send it again ('-')."""

    reason: str


class PacketReader:
    """Turns the client's byte stream, fed in arbitrary pieces, into events.

    Bytes outside a packet other than ``+``, ``-`` and 0x03 are line noise and are dropped, as
    a serial-line stub must. A packet that grows past ``max_size`` without its ``#`` is
    abandoned, so a client that never finishes one cannot make the server buffer without end.
    """

    def __init__(self, max_size: int = PACKET_SIZE):
        self.max_size = max_size
        self._buf = bytearray()
        self._in_packet = False

    @property
    def mid_packet(self) -> bool:
        """True while a packet has started and not ended (a client that leaves now left mid-packet)."""
        return self._in_packet

    def feed(self, data: bytes) -> list:
        events: list = []
        for b in data:
            if not self._in_packet:
                if b == 0x24:  # '$'
                    self._in_packet = True
                    self._buf.clear()
                elif b == 0x2B:
                    events.append(Ack(True))
                elif b == 0x2D:
                    events.append(Ack(False))
                elif b == INTERRUPT:
                    events.append(Interrupt())
                continue
            self._buf.append(b)
            hash_at = len(self._buf) - 3
            if hash_at >= 0 and self._buf[hash_at] == 0x23 and not self._escaped_at(hash_at):
                events.append(self._finish(hash_at))
                self._in_packet = False
            elif b == 0x24 and not self._escaped_at(len(self._buf) - 1):
                # A new '$' before this packet ended: the previous one was cut short.
                events.append(BadPacket("packet interrupted by another"))
                self._buf.clear()
            elif len(self._buf) > self.max_size + 3:
                events.append(BadPacket(f"packet longer than {self.max_size} bytes"))
                self._in_packet = False
        return events

    def _escaped_at(self, i: int) -> bool:
        # The byte at i is escaped when an odd run of '}' precedes it.
        run = 0
        j = i - 1
        while j >= 0 and self._buf[j] == ESCAPE:
            run += 1
            j -= 1
        return run % 2 == 1

    def _finish(self, hash_at: int):
        body = bytes(self._buf[:hash_at])
        digits = bytes(self._buf[hash_at + 1:])
        try:
            want = int(digits, 16)
        except ValueError:
            return BadPacket(f"checksum {digits!r} is not hex")
        if want != checksum(body):
            return BadPacket(f"checksum mismatch: got {want:02x}, computed {checksum(body):02x}")
        try:
            return Packet(unescape(body))
        except ProtocolError as err:
            return BadPacket(str(err))


# -- small encoders used by the server ------------------------------------------------------------

def hex_le(value: int, size: int) -> bytes:
    """A register value as GDB wants it: target byte order (little-endian), in hex."""
    return (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little").hex().encode()


_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def parse_hex(text: bytes, bits: int = 64) -> int:
    """A number as the protocol writes one (an address, a length, a register number): hex
    digits only, below ``2**bits``. Python's int() would also take a sign, a ``0x``, spaces and
    underscores, and an address past 64 bits would wrap when it reaches Unicorn."""
    if not text or not _HEX_DIGITS.issuperset(text):
        raise ValueError(f"not a hex number: {text[:24]!r}")
    value = int(text, 16)
    if value >> bits:
        raise ValueError(f"{text[:24]!r}... is wider than {bits} bits")
    return value


def unhex(text: bytes) -> bytes:
    """Hex-encoded bytes (memory data, register values, monitor commands), two digits a byte,
    nothing else (bytes.fromhex would skip spaces)."""
    if len(text) % 2 or not _HEX_DIGITS.issuperset(text):
        raise ValueError(f"not hex-encoded bytes: {text[:24]!r}")
    return bytes.fromhex(text.decode("ascii"))


def parse_hex_le(text: bytes, size: int) -> int:
    raw = unhex(text)
    if len(raw) != size:
        raise ValueError(f"expected {size} bytes, got {len(raw)}")
    return int.from_bytes(raw, "little")


def console_output(text: str) -> bytes:
    """An 'O' packet payload: text for the GDB console, hex-encoded."""
    return b"O" + text.encode("utf-8", "replace").hex().encode()
