"""The network services of `emu demo --net` (manifests/net.toml): an echo server and a key-value
store, each an RTOS tenant with its share of the TOE, driven by real host clients: many at once,
of random sizes, half-closed and reset. Every byte is checked end to end."""

from __future__ import annotations

import random
import signal
import socket
import struct
import threading

from netrun import start

import pytest



@pytest.fixture
def demo():
    p, by_port = start("demo", "--net")
    yield p, {"echo": by_port[7000], "kv": by_port[7001]}
    if p.poll() is None:
        p.kill()
        p.communicate()


def echo(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as c:
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)          # half-closed: the echo keeps coming back
        back = b""
        while chunk := c.recv(65536):
            back += chunk
    return back


def kv_session(port: int, requests: list[bytes]) -> list[bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as c:
        f = c.makefile("rwb")
        answers = []
        for req in requests:
            f.write(req)
            f.flush()
            answers.append(f.readline())
        return answers


def test_the_services_serve_many_clients_at_once_and_end_cleanly_on_ctrl_c(demo):
    p, ports = demo
    rng = random.Random(2026)
    payloads = [rng.randbytes(rng.randint(1, 300_000)) for _ in range(4)]
    results: dict = {}

    def run(key, fn, *args):
        results[key] = fn(*args)

    kv_a = [b"SET alpha 1\n", b"GET alpha\n", b"SET alpha 2\n", b"GET alpha\n", b"DEL alpha\n", b"GET alpha\n"]
    kv_b = [b"SET beta " + b"v" * 94 + b"\n", b"GET beta\n", b"GET nothing\n", b"HELLO\n",
            b"SET " + b"k" * 32 + b" x\n", b"x" * 500 + b"\n", b"DEL beta\n"]
    threads = [threading.Thread(target=run, args=(i, echo, ports["echo"], data)) for i, data in enumerate(payloads)]
    threads += [threading.Thread(target=run, args=("a", kv_session, ports["kv"], kv_a)),
                threading.Thread(target=run, args=("b", kv_session, ports["kv"], kv_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [results[i] for i in range(4)] == payloads         # every byte, in order, four at once
    assert results["a"] == [b"OK\n", b"VALUE 1\n", b"OK\n", b"VALUE 2\n", b"DELETED\n", b"NOT_FOUND\n"]
    assert results["b"] == [b"OK\n", b"VALUE " + b"v" * 94 + b"\n", b"NOT_FOUND\n", b"ERROR\n", b"ERROR\n",
                            b"ERROR\n", b"DELETED\n"]

    # A client that resets in the middle of a transfer frees its session; the next is served.
    r = socket.create_connection(("127.0.0.1", ports["echo"]), timeout=60)
    r.sendall(rng.randbytes(100_000))
    r.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    r.close()
    for n in range(5):                                         # more clients than free sessions
        data = rng.randbytes(1000 * (n + 1))
        assert echo(ports["echo"], data) == data
    # ... and four at once again: the reset session was given back, not leaked.
    again = [rng.randbytes(5000) for _ in range(4)]
    threads = [threading.Thread(target=run, args=(("again", i), echo, ports["echo"], d)) for i, d in enumerate(again)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [results[("again", i)] for i in range(4)] == again
    assert kv_session(ports["kv"], [b"GET alpha\n"]) == [b"NOT_FOUND\n"]   # the store outlives clients

    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0 and "emu: demo --net: stopped by Ctrl-C" in err.decode()
    assert f"emu: demo --net: echo on TOE port 7000: 127.0.0.1:{ports['echo']}" in err.decode()
    assert f"emu: demo --net: kv on TOE port 7001: 127.0.0.1:{ports['kv']}" in err.decode()
    text = out.decode()
    assert "[echo] echo service on TOE port 7000, 4 sessions for clients" in text
    assert "[kv] key-value service on TOE port 7001, 4 sessions for clients" in text
    assert text.count("connection ") >= 9 and "contained" not in text
