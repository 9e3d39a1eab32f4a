"""The FreeRTOS-style RTOS on our GIC and timers: preemptive, tick-driven, and deterministic."""

from __future__ import annotations

from conftest import boot


def test_rtos_demo_a_producer_consumer_and_periodic_ticks(built):
    m, result, _ = boot(built["rtos_demo_a"], start_el=1)
    out = m.console.text.splitlines()
    assert result.exit_code == 0, result
    got = [int(l.split()[-1]) for l in out if l.startswith("[consumer] got")]
    assert got == list(range(1, len(got) + 1)) and len(got) >= 9
    assert [l for l in out if l.startswith("[periodic]")][:3] == ["[periodic] tick 10", "[periodic] tick 20", "[periodic] tick 30"]


def test_rtos_runs_are_identical_to_the_instruction(built):
    runs = [boot(built["rtos_demo_b"], start_el=1, trace={"irq", "exceptions"}) for _ in range(2)]
    (m1, r1, t1), (m2, r2, t2) = runs
    assert r1.exit_code == 0 and r1 == r2
    assert m1.console.transcript == m2.console.transcript
    assert t1 == t2 and t1.count(" IRQ ") > 10      # timer ticks were taken, at the same virtual times
    assert m1.icount.retired == m2.icount.retired
