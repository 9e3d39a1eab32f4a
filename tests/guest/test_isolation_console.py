"""Isolation of time through a hypercall: no tenant holds the core through one HYP_CONSOLE_WRITE.

The hypervisor emits a HYP_CONSOLE_WRITE buffer at EL2 with interrupts masked, where neither the
time slice nor the watchdog can end the caller's turn. guest/attacker_console.s passes all of its
RAM after its image (nearly 2 MiB of '\\r', which the console drops), call after call for 20 ms;
written whole, one call would keep the ticker beside it (guest/irq_tick.s, 1 ms ticks) off the
core for about 20 ms. The hypervisor writes at most HYP_CONSOLE_WRITE_MAX bytes a call and
returns how many (smccc.inc), so every tick comes within one time slice of its deadline.
"""

from __future__ import annotations

import io
import re
import tomllib

import pytest
from conftest import ROOT

from emu.loader.constants import firmware_constants
from emu.cpu.clock import COUNTER_HZ
from emu.loader.elf import load_elf
from emu.machine import Console, Machine

CAP = firmware_constants()["HYP_CONSOLE_WRITE_MAX"]
MAX_INSNS = 50_000_000          # the run needs about 21 million
MS = COUNTER_HZ // 1000         # counter ticks
QUANTUM = tomllib.loads((ROOT / "manifests" / "attack_console.toml").read_text())["quantum_us"] * MS // 1000
# A tick is printed once the ticker has the core again after its deadline: at the latest when the
# flooder's time slice ends, then the time one capped call and a tenant switch take.
LATE_MAX = QUANTUM + MS // 4
TICKER_ARMED = "[ticker] virtual timer armed every 1 ms through my GICD and GICC views"


@pytest.fixture(scope="module")
def flood(built):
    """Runs the system once: (console lines, the counter value when each line ended, result)."""
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    ends: list[int] = []
    m.console.listeners.append(lambda data: ends.extend(m.clock.now() for _ in range(data.count(b"\n"))))
    m.load(load_elf(str(built["attack_console"])))
    result = m.run(max_insns=MAX_INSNS)
    lines = m.console.text.splitlines()
    assert len(lines) == len(ends)
    return lines, ends, result


def test_one_call_writes_at_most_the_cap_and_returns_it(flood):
    out, _, result = flood
    assert result.exit_code == 0 and result.diagnostic is None
    assert "[flooder] the bytes up to the cap end with this line" in out
    assert not any("BREACH" in line for line in out)
    asked = [int(m.group(1)) for line in out
             if (m := re.fullmatch(rf"\[flooder\] HYP_CONSOLE_WRITE of (\d+) bytes returned {CAP}", line))]
    assert len(asked) == 1 and asked[0] > 0x1f0000      # nearly all of its 2 MiB, in one call
    assert f"[flooder] flood over: every call returned {CAP}" in out
    assert out[-1] == "hyp: all tenants stopped, 0 contained"


def test_the_ticker_ticks_on_time_while_the_flooder_writes(flood):
    out, ends, _ = flood
    ticks = [out.index(f"[ticker] tick {k}") for k in range(1, 6)]
    # Tick k's deadline is k ms after the ticker armed its timer (just after its first line).
    armed = ends[out.index(TICKER_ARMED)]
    for k, line in enumerate(ticks, 1):
        late = ends[line] - (armed + k * MS)
        assert late <= LATE_MAX, f"tick {k} came {late / MS:.2f} ms after its deadline"
    # All of them while the flood goes on, which outlasts the ticker by 15 ms.
    start = out.index("[flooder] flooding the console with it for 20 ms")
    over = next(i for i, line in enumerate(out) if line.startswith("[flooder] flood over:"))
    assert start < ticks[0] and ticks == sorted(ticks) and ticks[-1] < over
    assert start < out.index("hyp: tenant 0 (ticker): system off") < over
