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


def test_under_a_primary_the_io_vm_s_interrupt_is_the_primary_s_cue_to_run_it(built):
    """manifests/primary_io.toml: the I/O VM is a secondary; it runs only when the primary runs it.
    Each time input comes while it waits, the hypervisor tells the primary (HYP_MSG_VM_INTERRUPT
    with INTID 33), which runs it; it reads the line and waits again, until "quit" ends it."""
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(load_elf(str(built["primary_io"])))

    def run_until(text: str, times: int = 1) -> None:
        while m.console.text.count(text) < times:
            r = m.run(max_insns=200_000, pause_at_limit=True)
            assert r.paused, r

    run_until("[primary] run vm 2: it waits")
    m.devices["uart0"].queue_rx(b"hello\n")
    run_until("[primary] run vm 2: it waits", 2)
    m.devices["uart0"].queue_rx(b"quit\n")
    result = m.run(max_insns=100_000_000)
    assert result.exit_code == 0, result
    lines = [line for line in m.console.text.splitlines() if line.startswith(("[primary]", "[io]"))]
    assert lines == [
        "[io] ready for the console's input",
        "[primary] run vm 2: it waits",
        "[primary] vm 2 has an interrupt pending: INTID 33",
        "[io] line: hello",
        "[primary] run vm 2: it waits",
        "[primary] vm 2 has an interrupt pending: INTID 33",
        "[io] line: quit",
        "[io] bye after 11 bytes",
        "[primary] run vm 2: it has ended",
        "[primary] the I/O VM has ended: so does the system",
    ]
