"""Isolation: a tenant cannot reach the host through Arm semihosting.

guest/attacker_semihost.s tries five calls that an EL1 tenant once got the emulator to serve:
a forged hypervisor line, a 14.6 MB dump starting at its own RAM (which ran on into the other
tenants' RAM), a length of 2^62, an unmapped pointer, and SYS_EXIT with its own code.
"""

from __future__ import annotations

from conftest import boot

from emu.cpu.semihosting import MAX_TRANSFER, SemihostingConfig

ATTACKER_PA = 0x42000000   # tenant 1's RAM (manifests/attack_semihost.toml), at IPA 0x40000000


def test_semihosting_from_a_tenant_is_undefined_and_the_other_tenant_runs_on(built):
    m, result, _ = boot(built["attack_semihost"])
    out = m.console.text.splitlines()
    assert result.exit_code == 0 and result.diagnostic is None
    refusals = [l for l in out if l == "[semihost] HLT #0xf000 is undefined here, ESR_EL1 0x2000000"]
    assert len(refusals) == 5
    assert "[semihost] semihosting calls refused: 5" in out
    # Nothing untagged but the hypervisor's own lines; the forged one appears once, at the end.
    assert all(l.startswith(("hyp: ", "[counter] ", "[semihost] ")) for l in out), out
    assert out.count("hyp: all tenants stopped, 0 contained") == 1
    assert out[-1] == "hyp: all tenants stopped, 0 contained"
    assert [l for l in out if l.startswith("[counter]")] == [f"[counter] count {i}" for i in range(1, 6)] + ["[counter] done"]
    assert len(m.console.transcript) < 4096


def test_allowed_below_the_boot_el_the_calls_stay_inside_the_callers_own_memory(built):
    m, result, _ = boot(built["attack_semihost"], semihosting=SemihostingConfig(lower_els=True))
    # The user allowed it, so the tenant's exit ends the run with its code ...
    assert result.exit_code == 42 and result.reason == "semihosting exit (42)"
    # ... but each of the two dumps is one bounded transfer of the tenant's own RAM, read
    # through its own stage 2 (its code comes out), and not one byte of the counter tenant.
    code = m.read_phys(ATTACKER_PA, 0x200)
    assert m.console.transcript.count(code) == 2
    assert len(m.console.transcript) < 3 * MAX_TRANSFER
    counter_image = m.read_phys(0x41000000, 0x400)
    assert counter_image not in m.console.transcript
