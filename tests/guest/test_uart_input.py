"""UART input reaches a real guest: guest/echo.s programs the PL011 as U-Boot does (UART off,
UARTLCR_H.FEN set, which flushes the receive FIFO, UART on) and prints back every line."""

from __future__ import annotations

import io

from emu.loader.elf import load_elf
from emu.machine import Console, Machine


def echo_run(path, data: bytes):
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(load_elf(str(path)))
    m.devices["uart0"].queue_rx(data)
    return m, m.run(max_insns=20_000_000)


def test_every_input_byte_reaches_the_guest_through_its_uart_init(built):
    lines = [b"line %04d " % i + bytes(range(0x20, 0x7f)) for i in range(100)]  # ~10 KiB, 32-entry FIFO
    m, result = echo_run(built["echo"], b"\n".join(lines) + b"\n\x04")
    assert result.exit_code == 0, result
    assert m.console.transcript == b"echo: ready\n" + b"".join(b"echo: " + l + b"\n" for l in lines) + b"echo: bye\n"
    assert m.devices["uart0"].rx_queued == 0


def test_the_same_input_gives_the_same_run(built):
    data = b"".join(b"%d\n" % i for i in range(300)) + b"\x04"
    (m1, r1), (m2, r2) = echo_run(built["echo"], data), echo_run(built["echo"], data)
    assert r1.exit_code == 0 and r1 == r2
    assert m1.console.transcript == m2.console.transcript
    assert m1.icount.retired == m2.icount.retired and m1.clock.now() == m2.clock.now()
