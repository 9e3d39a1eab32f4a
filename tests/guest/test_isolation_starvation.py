"""Isolation of time. In a cooperative system (no time slice in the manifest) a tenant that never
gives the core back must not starve the others: the hypervisor's watchdog, CNTHP taken at EL2
whatever the tenant's PSTATE.I, preempts it after WATCHDOG_BUDGET_MS and stops it after
WATCHDOG_STRIKES_MAX budgets in a row without a yield (firmware/include/hyp_defs.inc)."""

from __future__ import annotations

import pytest
from conftest import boot

from emu.reference import run_qemu

# An attacker is stopped after 500 ms of virtual time (about 5 * 10**8 instructions). A watchdog
# that never fired would spin to this limit instead, and the run would end with 124, not 1.
MAX_INSNS = 2_000_000_000

VICTIM = [f"[counter] count {i}" for i in range(1, 6)] + ["[counter] done"]

ATTACKS = [("attack_spin", "attacker_spin"),      # DAIF masked, spins
           ("attack_hog", "attacker_hog")]        # IRQs on, its own timer ticking, never yields

# Cooperative systems whose tenants yield in time (in well under a millisecond).
YIELDING_SYSTEMS = ["demo", "attack_write", "solo", "sgi", "attack_gic", "contract"]


def preempted(attacker: str) -> str:
    return f"hyp: tenant 1 ({attacker}): held the core 50 ms without yielding: preempted"


def stopped(attacker: str) -> str:
    return f"hyp: tenant 1 ({attacker}): held the core 500 ms without yielding: stopped"


@pytest.fixture(scope="module")
def attack(built):
    """Runs a system once per module: (console lines, run result)."""
    runs = {}

    def run(system: str):
        if system not in runs:
            m, result, _ = boot(built[system], max_insns=MAX_INSNS)
            runs[system] = (m.console.text.splitlines(), result)
        return runs[system]

    return run


@pytest.mark.parametrize("system, attacker", ATTACKS)
def test_the_victim_runs_to_its_end_while_the_attacker_never_yields(attack, system, attacker):
    out, result = attack(system)
    # The hypervisor ends the run itself, with one tenant contained; not --max-insns (124).
    assert result.diagnostic is None and result.exit_code == 1
    assert [l for l in out if l.startswith("[counter]")] == VICTIM
    assert "hyp: tenant 0 (counter): system off" in out
    assert out[-1] == "hyp: all tenants stopped, 1 contained"
    assert not any("BREACH" in l for l in out)


@pytest.mark.parametrize("system, attacker", ATTACKS)
def test_the_attacker_is_preempted_and_reported_once_then_stopped(attack, system, attacker):
    out, _ = attack(system)
    assert out.count(preempted(attacker)) == 1 and out.count(stopped(attacker)) == 1
    assert sum("held the core" in l for l in out) == 2           # the victim is never reported
    # Preempted first, not merely stopped: the victim's lines go on while the attacker is alive.
    assert out.index(preempted(attacker)) < out.index("[counter] count 2")
    assert out.index("[counter] done") < out.index(stopped(attacker))


def test_the_hog_can_neither_disable_the_watchdog_nor_lose_its_own_interrupts(attack):
    out, _ = attack("attack_hog")
    ignored = [l for l in out if "GICD write to INTID 26 it does not own: ignored" in l]
    assert len(ignored) == 2
    assert all(l.startswith("hyp: tenant 1 (attacker_hog): ") for l in ignored)
    # Its own virtual timer still reaches it: it is preempted with its interrupts unmasked.
    tick = out.index("[attacker_hog] tick 1: my own timer still reaches me")
    assert tick < out.index(preempted("attacker_hog"))


@pytest.mark.parametrize("system, attacker", ATTACKS)
def test_a_starvation_attack_is_deterministic(built, system, attacker):
    (m1, r1, _), (m2, r2, _) = (boot(built[system], max_insns=MAX_INSNS) for _ in range(2))
    assert r1 == r2 and r1.exit_code == 1
    assert m1.console.transcript == m2.console.transcript
    assert m1.icount.retired == m2.icount.retired


@pytest.mark.parametrize("system", YIELDING_SYSTEMS)
def test_tenants_that_yield_in_time_never_meet_the_watchdog(built, system):
    m, result, _ = boot(built[system], max_insns=50_000_000)
    assert result.diagnostic is None
    assert "held the core" not in m.console.text


@pytest.mark.qemu
def test_the_watchdog_preempts_a_masked_spinner_on_qemu_too(qemu, built):
    """The same image on qemu-system-aarch64: the architecture, not our CPU glue, takes CNTHP to
    EL2 past the tenant's masked PSTATE.I. QEMU's counter follows the host clock, so only what
    does not depend on its pace is checked."""
    ref = run_qemu(built["attack_spin"], timeout=30)
    out = ref.transcript.decode().splitlines()
    assert ref.exit_code == 1
    assert [l for l in out if l.startswith("[counter]")] == VICTIM
    assert out.count(preempted("attacker_spin")) == 1 and out.count(stopped("attacker_spin")) == 1
    assert out.index("[counter] done") < out.index(stopped("attacker_spin"))
    assert out[-1] == "hyp: all tenants stopped, 1 contained"
