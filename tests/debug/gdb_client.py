"""A minimal GDB remote-protocol client for the server tests, and a server running in a thread."""

from __future__ import annotations

import io
import socket
import threading
import time


from emu.debug.gdbproto import Packet, PacketReader, frame

TIMEOUT = 20.0


class GdbClient:
    """Speaks the packet layer the way GDB does: acks every packet, collects 'O' output."""

    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        # As GDB does: an ack and the next packet are small writes that Nagle would hold back.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = PacketReader(1 << 20)
        self.events: list = []
        self.console = ""
        self.no_ack = False

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        self.events.extend(self.reader.feed(data))

    def next_event(self):
        deadline = time.monotonic() + TIMEOUT
        while not self.events:
            if time.monotonic() > deadline:
                raise TimeoutError("no reply from the server")
            self._fill()
        return self.events.pop(0)

    def read_ack(self) -> bool:
        ev = self.next_event()
        assert not isinstance(ev, Packet), f"expected an ack, got {ev}"
        return ev.ok

    def read_packet(self) -> bytes:
        """The next packet that is not console output ('O'), acknowledged."""
        while True:
            ev = self.next_event()
            if not isinstance(ev, Packet):
                continue  # an ack
            if not self.no_ack:
                try:
                    self.send_raw(b"+")
                except OSError:
                    pass  # the server may close right after its last word (a refusal)
            if ev.payload.startswith(b"O") and ev.payload != b"OK":
                self.console += bytes.fromhex(ev.payload[1:].decode()).decode()
                continue
            return ev.payload

    def command(self, payload: bytes | str) -> bytes:
        if isinstance(payload, str):
            payload = payload.encode()
        self.send_raw(frame(payload))
        if not self.no_ack:
            assert self.read_ack(), f"server refused {payload!r}"
        return self.read_packet()

    def monitor(self, line: str) -> str:
        self.console = ""
        reply = self.command(b"qRcmd," + line.encode().hex().encode())
        assert reply == b"OK", reply
        return self.console


class ServerThread:
    """A GdbServer on an ephemeral loopback port, serving from a thread."""

    def __init__(self, machine, **kw):
        from emu.debug.gdbstub import GdbServer

        self.log = io.StringIO()
        self.server = GdbServer(machine, "127.0.0.1", 0, log=self.log, **kw)
        self.exit_code: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        # serve() brings the machine to its first instruction before it accepts anyone.
        deadline = time.monotonic() + TIMEOUT
        while "listening" not in self.log.getvalue():
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"server did not start: {self.log.getvalue()} {self.error}")
            time.sleep(0.01)

    def _serve(self) -> None:
        try:
            self.exit_code = self.server.serve()
        except BaseException as err:  # surfaced by the test through .error
            self.error = err

    @property
    def port(self) -> int:
        return self.server.port

    def client(self) -> GdbClient:
        return GdbClient(self.port)

    def join(self, timeout: float = TIMEOUT) -> int | None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "server still running"
        assert self.error is None, self.error
        return self.exit_code

    def attach(self) -> GdbClient:
        """A client the server has taken, waiting while it still tidies up after the last one
        (until then, it turns newcomers away)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            c = self.client()
            try:
                if c.command("qC") == b"QC1":
                    return c
            except (OSError, AssertionError):
                pass
            c.close()
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not take a new client")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.thread.is_alive():
            try:
                c = self.attach()
                c.send_raw(frame(b"k"))
                c.close()
            except (OSError, TimeoutError):
                pass
            self.thread.join(TIMEOUT)
