"""Isolation: a tenant cannot touch the hypervisor's timer registers.

guest/attacker_timer.s writes and reads CNTVOFF_EL2, CNTHCTL_EL2 and CNTHP_CTL/CVAL/TVAL_EL2
from EL1 (one such write once hung the emulator), writes CNTFRQ_EL0 and the read-only virtual
counter, then spins 20 ms without yielding. The register accesses must be UNDEFINED at EL1 and
change nothing, so the hypervisor's time slice still preempts the spin.
"""

from __future__ import annotations

from conftest import boot


def test_el2_timer_registers_are_undefined_for_a_tenant_and_preemption_survives(built):
    m, result, _ = boot(built["attack_timer"], max_insns=50_000_000)
    out = m.console.text.splitlines()
    assert result.exit_code == 0 and result.diagnostic is None
    assert out.count("[timer] timer register access is undefined here, ESR_EL1 0x2000000") == 12
    assert "[timer] timer register accesses refused: 12" in out
    # The ticker's five 1 ms ticks come out while the attacker spins its 20 ms: the EL2 timer
    # that preempts tenants was not switched off, and the ticker's virtual time not moved.
    spun = out.index("[timer] spun 20 ms without yielding")
    ticks = [out.index(f"[ticker] tick {i}") for i in range(1, 6)]
    assert ticks == sorted(ticks) and ticks[-1] < spun
    assert "hyp: tenant 0 (ticker): system off" in out[:spun]
    assert out[-1] == "hyp: all tenants stopped, 0 contained"
    assert m.timer.cntvoff != 0x1000 and m.timer.cnthctl != 0


def test_the_same_attack_gives_the_same_transcript_every_time(built):
    first, _, _ = boot(built["attack_timer"], max_insns=50_000_000)
    second, _, _ = boot(built["attack_timer"], max_insns=50_000_000)
    assert first.console.transcript == second.console.transcript
