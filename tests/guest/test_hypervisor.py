"""The shipped hypervisor with its tenants, booted from the real firmware/ and guest/ sources."""

from __future__ import annotations

import re

from conftest import boot


def lines(m) -> list[str]:
    return m.console.text.splitlines()


def test_demo_boots_tenants_and_contains_the_attacker(built):
    m, result, _ = boot(built["demo"])
    out = lines(m)
    assert result.diagnostic is None
    assert result.exit_code == 1                       # one tenant contained
    assert out[0] == "hyp: thin hypervisor v2, 3 tenants"
    assert "[hello] Hello from EL1" in out
    assert "[hello] CurrentEL: 1" in out
    assert [l for l in out if l.startswith("[counter] count")] == [f"[counter] count {i}" for i in range(1, 6)]
    violation = [l for l in out if "stage-2 violation" in l]
    assert len(violation) == 1
    assert re.fullmatch(r"hyp: tenant 2 \(attacker_read\): stage-2 violation at IPA 0x41000000 ESR 0x93[0-9a-f]{6} PC 0x4[0-9a-f]+: stopped",
                        violation[0])
    # The line after the attacker's load never prints, and the others go on after it.
    assert not any("attacker_read] read" in l and "value" in l for l in out)
    after = out[out.index(violation[0]) + 1:]
    assert any(l.startswith("[hello]") for l in after) and any(l.startswith("[counter]") for l in after)
    assert "hyp: tenant 0 (hello): system off" in out
    assert "hyp: tenant 1 (counter): system off" in out
    assert out[-1] == "hyp: all tenants stopped, 1 contained"


def test_tenants_interleave_on_yield(built):
    m, _, _ = boot(built["demo"])
    tags = [l.split("]")[0] + "]" for l in lines(m) if l.startswith("[")]
    switches = sum(1 for a, b in zip(tags, tags[1:]) if a != b)
    assert switches >= 4


def test_attacker_writing_outside_its_partition_is_stopped(built):
    m, result, _ = boot(built["attack_write"])
    out = lines(m)
    assert result.exit_code == 1
    assert any("(attacker_write): stage-2 violation" in l and "ESR 0x93" in l for l in out)
    assert "hyp: tenant 0 (counter): system off" in out
    assert "[counter] done" in out


def test_solo_tenant_exits_cleanly(built):
    m, result, _ = boot(built["solo"])
    assert result.exit_code == 0 and result.diagnostic is None
    assert lines(m)[-1] == "hyp: all tenants stopped, 0 contained"


def test_exception_trace_names_ec_and_tenant_symbols(built):
    _, _, trace = boot(built["demo"], trace={"exceptions"})
    tl = trace.splitlines()
    hvc = [l for l in tl if "EC_HVC64" in l]
    assert hvc and all("us exc  EL1->EL2 " in l for l in hvc)
    uart = [l for l in tl if "EC_DABT_LOW" in l and "FAR=0x9000000" in l]
    assert uart and "write" in uart[0] and "HPFAR=0x90000" in uart[0] and "strb w0, [x9]" in uart[0]
    assert "<hello:" in uart[0]                        # EL1 PCs are named in the tenant's own symbols
    attack = [l for l in tl if "FAR=0x41000000" in l]
    assert len(attack) == 1 and "attacker_read:" in attack[0] and "translation fault" in attack[0]


def test_same_image_gives_same_transcript_and_trace(built):
    m1, r1, t1 = boot(built["demo"], trace={"exceptions"})
    m2, r2, t2 = boot(built["demo"], trace={"exceptions"})
    assert m1.console.transcript == m2.console.transcript
    assert t1 == t2 and r1 == r2
