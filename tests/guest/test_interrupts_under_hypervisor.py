"""Hypervisor v1 on our GIC and timers: RTOS tenants, the virtual GIC and its isolation."""

from __future__ import annotations

import re

from conftest import boot


def lines(m) -> list[str]:
    return m.console.text.splitlines()


def test_rtos_tenants_are_preempted_and_interleave_and_the_attacker_is_contained(built):
    m, result, _ = boot(built["rtos"])
    out = lines(m)
    assert result.exit_code == 1 and result.diagnostic is None
    assert "hyp: preemptive round robin, time slice 125000 counter ticks" in out
    assert "hyp: tenant 2 (attacker): stage-2 violation at IPA 0x41000000 ESR 0x93d38006 PC 0x4000011c: stopped" in out
    a = [l for l in out if l.startswith("[rtos_a]")]
    b = [l for l in out if l.startswith("[rtos_b]")]
    assert [l for l in a if "[periodic]" in l] == [f"[rtos_a] [periodic] tick {t}" for t in (10, 20, 30)]
    assert [int(l.split()[-1]) for l in a if "got" in l] == list(range(1, 10))
    assert "[rtos_b] pong 4" in b
    tags = [l.split("]")[0] for l in out if l.startswith("[rtos_")]
    assert sum(x != y for x, y in zip(tags, tags[1:])) >= 6     # the two tenants' lines interleave
    assert "hyp: tenant 0 (rtos_a): system off" in out and "hyp: tenant 1 (rtos_b): system off" in out
    assert out[-1] == "hyp: all tenants stopped, 1 contained"


def test_rtos_system_is_reproducible_to_the_instruction(built):
    runs = [boot(built["rtos"], trace={"exceptions", "irq", "tenants"}) for _ in range(2)]
    (m1, r1, t1), (m2, r2, t2) = runs
    assert r1 == r2 and m1.console.transcript == m2.console.transcript
    assert t1 == t2 and m1.icount.retired == m2.icount.retired
    assert " vIRQ " in t1 or " IRQ " in t1


def test_preemption_lets_others_run_while_a_tenant_spins(built):
    m, result, _ = boot(built["irq"])
    out = lines(m)
    assert result.exit_code == 0
    ticks = [l for l in out if re.match(r"\[ticker\] tick \d", l)]
    assert len(ticks) == 5
    spin_done = out.index("[spinner] done spinning: preempted, never yielded")
    assert out.index(ticks[-1]) < spin_done                       # ticks came while it spun
    assert any("[sleeper] woken by my virtual timer (INTID 27)" in l for l in out)


def test_a_tenant_cannot_touch_another_tenants_interrupts(built):
    m, result, _ = boot(built["attack_gic"])
    out = lines(m)
    assert result.exit_code == 1
    ignored = [l for l in out if "GICD write to INTID" in l and "it does not own: ignored" in l]
    assert {re.search(r"INTID (\d+)", l).group(1) for l in ignored} == {"48", "33"}
    assert all(l.startswith("hyp: tenant 1 (attacker_gic):") for l in ignored)
    # The victim's SPI 48 is untouched: still enabled at its priority, and taken again.
    assert any(l.startswith("[victim]") and "SPI 48 count still 1" in l for l in out)
    assert any(l.startswith("[victim]") and "SPI 48 taken, count 2" in l for l in out)


def test_sgis_taken_in_priority_order_through_the_virtual_gic(built):
    m, result, _ = boot(built["sgi"])
    assert result.exit_code == 0
    assert "[sgi] taken in order: 0 1 2 3 4 5 6 7" in m.console.text
