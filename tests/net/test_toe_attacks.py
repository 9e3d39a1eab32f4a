"""Tenants that break the TOE's policy (manifests/attack_toe.toml): one listens on a port it was not
given, one connects where it may not. The TOE refuses both and reports them in its management
page, whose interrupt the hypervisor takes; it contains both, and the victim beside them, which
has a TOE session too, runs to its end."""

from __future__ import annotations

import io

from emu.loader.elf import load_elf


def test_a_port_or_address_not_given_gets_the_tenant_contained(built):
    from emu.machine import Console, Machine

    m = Machine("virt,iommu=smmuv3,toe=on", console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(load_elf(str(built["attack_toe"])))
    result = m.run(max_insns=200_000_000)
    lines = m.console.text.splitlines()
    assert result.exit_code == 2 and result.diagnostic is None
    assert "hyp: tenant 1 (port): TOE LISTEN on a port it was not given: stopped" in lines
    assert "hyp: tenant 2 (address): TOE CONNECT to an address it may not reach: stopped" in lines
    assert [l for l in lines if l.startswith("[counter]")] == [f"[counter] count {n}" for n in range(1, 6)] + \
        ["[counter] done"]
    toe = m.devices["toe"]
    # Their sessions were taken back (no owner), the counter's kept.
    assert [toe.regs[("S_OWNER", s)] for s in range(5)] == [1, 0, 0, 0, 0]


def test_a_snapshot_with_the_smmu_and_the_toe_resumes_to_the_same_run(built, tmp_path):
    # Saved after the hypervisor has programmed the SMMU's stream table and queues and the TOE's
    # management page, before the attacks: restored into a new machine, the rest is the same.
    from emu.machine import Console, Machine
    from emu.snapshot import restore, save

    def machine():
        m = Machine("virt,iommu=smmuv3,toe=on", console=Console(io.BytesIO(), echo=False), log=io.StringIO())
        m.load(load_elf(str(built["attack_toe"])))
        return m

    whole = machine()
    result = whole.run(max_insns=200_000_000)
    first = machine()
    first.run(max_insns=300_000)
    assert first.devices["smmu"].regs["CR0"] & 1 and first.devices["toe"].regs["CTRL"] == 1
    save(first, tmp_path / "s.snap")
    second = machine()
    restore(second, str(tmp_path / "s.snap"))
    assert second.run(max_insns=200_000_000) == result
    assert first.console.transcript + second.console.transcript == whole.console.transcript
