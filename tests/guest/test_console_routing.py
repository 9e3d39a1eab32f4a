"""Selective interrupt routing (manifests/console_input.toml, firmware/include/hyp_route.inc): what
is typed at the console goes to the tenant marked console_input = true, with its INTID 33, and
nothing of it reaches the other tenant, which can neither read it nor enable the interrupt. A
burst longer than the hypervisor's ring is held back in the UART, not dropped."""

from __future__ import annotations

import io

import pytest

from emu.loader.elf import load_elf


def boot(built, data: bytes):
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(load_elf(str(built["console_input"])))
    m.devices["uart0"].queue_rx(data)
    return m, m.run(max_insns=100_000_000)


def test_the_console_s_lines_reach_the_io_tenant_only(built):
    m, result = boot(built, b"hello there\nsecond line\nquit\n")
    assert result.exit_code == 0 and result.diagnostic is None, result
    text = m.console.text
    assert [line for line in text.splitlines() if line.startswith("[reader] ")] == [
        "[reader] ready for the console's input",
        "[reader] line: hello there",
        "[reader] line: second line",
        "[reader] line: quit",
        "[reader] bye after 29 bytes",
    ]
    assert "[snoop] INTID 33 enabled in my view: 0, bytes seen in 20 ms: 0" in text
    assert text.count("hyp: tenant 1 (snoop): GICD write to INTID 33 it does not own: ignored") == 2


@pytest.mark.parametrize("size", [63, 64, 65, 1000])
def test_a_burst_past_the_ring_is_held_back_not_dropped(built, size):
    """The hypervisor's ring holds 64 bytes; the UART's FIFO the next 16; the emulator's queue the
    rest, handed over as the guest makes room. Every byte arrives."""
    m, result = boot(built, b"x" * size + b"\nquit\n")
    assert result.exit_code == 0, result
    assert f"[reader] bye after {size + 6} bytes" in m.console.text


def test_without_an_io_tenant_nobody_gets_the_input(built):
    """The same two tenants in a system where neither is the I/O tenant: the reader's interrupt
    is not its own, so it waits for good; the hypervisor says so and the run ends."""
    import dataclasses
    import struct

    from emu.loader.constants import firmware_constants

    C = firmware_constants()
    image = load_elf(str(built["console_input"]))
    index = next(i for i, s in enumerate(image.segments) if s.addr == C["MANIFEST_PA"])
    data = bytearray(image.segments[index].data)
    struct.pack_into("<I", data, C["MF_TENANTS"] + C["MT_FLAGS"], 0)
    image.segments[index] = dataclasses.replace(image.segments[index], data=bytes(data))
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(image)
    m.devices["uart0"].queue_rx(b"hello\nquit\n")
    result = m.run(max_insns=100_000_000)
    assert "[reader] line:" not in m.console.text
    assert "hyp: tenant 0 (reader): GICD write to INTID 33 it does not own: ignored" in m.console.text
    assert result.exit_code != 0
