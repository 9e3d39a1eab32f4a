"""Hypervisor v2 on several cores: each tenant runs on the cores its manifest gives it, starts its
other vCPUs with PSCI CPU_ON (answered by the hypervisor), signals them with virtual SGIs, and
cannot start, stop or signal a core it was not given (manifests/smp.toml, attack_pair.toml)."""

from __future__ import annotations

import io
import re

import pytest

from emu.loader.constants import firmware_constants
from emu.loader.elf import load_elf
from emu.reference import run_qemu

C = firmware_constants()
MAX_INSNS = 400_000_000


def boot(path, cores: int):
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=cores)
    m.load(load_elf(str(path)))
    return m, m.run(max_insns=MAX_INSNS)


def by_tenant(text: str) -> dict[str, list[str]]:
    """Each tenant's lines, its own ("[name] ...") and the hypervisor's about it ("hyp: tenant N
    (name): ..."), in order; "hyp" for the rest. Tenants on different cores interleave differently
    on QEMU, whose cores are threads, but each tenant's own sequence is fixed by its program."""
    lines: dict[str, list[str]] = {}
    for line in text.splitlines():
        m = re.match(r"\[([^\]]+)\] |hyp: tenant \d+ \(([^)]+)\): ", line)
        lines.setdefault(m.group(1) or m.group(2) if m else "hyp", []).append(line)
    return lines


@pytest.mark.qemu
def test_four_cores_give_qemu_s_lines_tenant_by_tenant(qemu, built):
    ref = run_qemu(built["smp"], timeout=120, extra=["-smp", "4"])
    m, result = boot(built["smp"], 4)
    assert ref.exit_code == result.exit_code == 1 and result.diagnostic is None
    ours, theirs = by_tenant(m.console.text), by_tenant(ref.transcript.decode())
    assert set(ours) == set(theirs) == {"hyp", "pair", "rtos_a", "rtos_b", "attacker"}
    for tenant in ("hyp", "pair", "attacker"):  # sequences their programs fix
        assert ours[tenant] == theirs[tenant]
    # An RTOS tenant's periodic tasks run on its ticks, which on QEMU follow the host's clock: which
    # tick a line names, and where it falls among the other tasks' lines, vary from run to run
    # there. The lines of the tasks that wait for each other (producer and consumer, ping and
    # pong) are fixed, and so are the first and the last.
    def untimed(lines):
        return [line for line in lines if not re.search(r"tick|event|no item", line)]

    for tenant in ("rtos_a", "rtos_b"):
        assert untimed(ours[tenant]) == untimed(theirs[tenant])
        assert len(untimed(ours[tenant])) >= 8


def test_the_four_core_demo_is_the_same_every_run(built):
    (m1, r1), (m2, r2) = boot(built["smp"], 4), boot(built["smp"], 4)
    assert r1 == r2 and m1.console.transcript == m2.console.transcript
    assert [c.icount.retired for c in m1.cores] == [c.icount.retired for c in m2.cores]


def test_each_tenant_runs_on_its_cores_and_the_pair_loses_no_increment(built):
    m, result = boot(built["smp"], 4)
    out = by_tenant(m.console.text)
    assert out["pair"] == [
        "hyp: tenant 0 (pair): IPA 0x40000000-0x401fffff PA 0x41000000 entry 0x40000000 cores 0 1",
        "[pair] vCPU 0: starting vCPU 1",
        "[pair] vCPU 1: up, context 0xc0ffee, MPIDR_EL1 0x80000001",
        "[pair] vCPU 0: CPU_ON returned 0 and vCPU 1 is up; signalling it with SGI 3",
        "[pair] vCPU 1: took SGI 3",
        "[pair] vCPU 0: vCPU 1 is off; counter 4000 of 4000",
        "hyp: tenant 0 (pair): system off",
    ]
    assert out["rtos_a"][0].endswith("cores 2") and out["rtos_b"][0].endswith("cores 3")
    assert out["rtos_a"][-1] == "hyp: tenant 1 (rtos_a): system off"
    assert out["rtos_b"][-1] == "hyp: tenant 2 (rtos_b): system off"
    # Every core ran: the RTOS tenants are alone on cores 2 and 3.
    assert all(c.icount.retired > 10_000 for c in m.cores)


def test_a_tenant_cannot_start_stop_or_signal_a_core_it_was_not_given(built):
    m, result = boot(built["smp"], 4)
    assert by_tenant(m.console.text)["attacker"][1:] == [
        "hyp: tenant 3 (attacker): PSCI CPU_ON of MPIDR 0x1, not one of its vCPUs: denied",
        "[attacker] PSCI CPU_ON of vCPU 1 (I have one): -2",
        "hyp: tenant 3 (attacker): PSCI CPU_ON of MPIDR 0x80000003, not one of its vCPUs: denied",
        "[attacker] PSCI CPU_ON of MPIDR 0x80000003: -2",
        "hyp: tenant 3 (attacker): PSCI CPU_ON of MPIDR 0x100, not one of its vCPUs: denied",
        "[attacker] PSCI CPU_ON of MPIDR 0x100 (cluster 1): -2",
        "[attacker] PSCI CPU_ON of myself: -4",                 # ALREADY_ON
        "[attacker] PSCI AFFINITY_INFO of vCPU 2: -2",
        "[attacker] PSCI AFFINITY_INFO of myself: 0",           # ON
        "[attacker] PSCI CPU_ON of core 1 over SMC: -1",        # SMC traps: no firmware for tenants
        "[attacker] SGI 1 to CPUs 1-7",
        "hyp: tenant 3 (attacker): SGI to CPUs 0xfe it does not have: ignored",
        "[attacker] SGI 1 to all other CPUs",
        "[attacker] reading IPA 0x42000000, outside my RAM",
        "hyp: tenant 3 (attacker): stage-2 violation at IPA 0x42000000 ESR 0x93c08006 PC 0x40000190: stopped",
    ]
    # Nothing reached the others: no SGI arrived at the pair, which counts exactly and ends.
    assert "[pair] vCPU 0: vCPU 1 is off; counter 4000 of 4000" in m.console.text
    assert result.exit_code == 1


def test_containing_a_tenant_stops_its_vcpu_spinning_on_another_core(built):
    # vCPU 0 breaks the partition on core 1 while vCPU 1 spins on core 2 without a single trap, in
    # a cooperative system. Only the hypervisor's kick ends it before the watchdog's 50 ms: core 2
    # must be idle at EL2 right after, for good, while the RTOS tenant on core 0 runs to its end.
    # Had the spinner gone on, core 2 would have retired instructions all through the RTOS's run
    # (and virtual time could never have skipped ahead while core 0 idles).
    m, result = boot(built["attack_pair"], 3)
    text = m.console.text
    assert "[attacker_pair] vCPU 1: spinning on my own core" in text
    assert "hyp: tenant 1 (attacker_pair): stage-2 violation at IPA 0x42000000" in text
    assert "NOT CONTAINED" not in text and text.endswith("hyp: all tenants stopped, 1 contained\n")
    assert text.index("stage-2 violation") < text.index("[rtos_a] rtos_demo_a: done, powering off")
    core2 = m.cores[2]
    assert core2.waiting and core2.cpu.el == 2 and m.symbolize(core2.cpu.pc).startswith("hyp_idle")
    assert core2.icount.retired < 100_000 and core2.icount.retired < m.cores[0].icount.retired / 4


def test_a_core_the_machine_lacks_stops_the_boot_with_one_line(built):
    m, result = boot(built["smp"], 2)
    assert m.console.text.splitlines()[-1].startswith("hyp: core 2 did not start: PSCI error -")
    assert result.exit_code == C["EXIT_NO_CORE"] and result.diagnostic is None
    assert "[pair]" not in m.console.text  # no tenant ran


def test_one_core_systems_still_run_on_one_core(built):
    # v1 manifests name no cores: every tenant on core 0, nothing started, the same lines as before.
    m, result = boot(built["demo"], 1)
    assert result.exit_code == 1 and "hyp: all tenants stopped, 1 contained" in m.console.text
    assert "cores" not in m.console.text


def test_a_snapshot_of_the_four_core_demo_resumes_to_the_same_run(built, tmp_path):
    # Paused while the pair's vCPUs count on cores 0 and 1 and the RTOS tenants tick on 2 and 3,
    # with the hypervisor's lock, kicks and list registers in flight: the rest of the run is the
    # same, to the instruction on every core.
    from emu.machine import Console, Machine
    from emu.snapshot import restore, save

    whole, r = boot(built["smp"], 4)
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=4)
    m.load(load_elf(str(built["smp"])))
    assert m.run(max_insns=300_000).stop.name == "INSN_LIMIT"
    assert "[pair] vCPU 1: up" in m.console.text and "counter 4000" not in m.console.text
    save(m, tmp_path / "s.snap")
    m2 = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=4)
    m2.load(load_elf(str(built["smp"])))
    restore(m2, str(tmp_path / "s.snap"))
    r2 = m2.run(max_insns=MAX_INSNS)
    assert r2.exit_code == r.exit_code == 1
    assert m.console.transcript + m2.console.transcript == whole.console.transcript
    assert [c.icount.retired for c in m2.cores] == [c.icount.retired for c in whole.cores]


def with_cores(path, tenant: int, vcpus: int, cores: bytes):
    """The system image at ``path`` with tenant ``tenant``'s MT_VCPUS and MT_CORES rewritten in the
    packed manifest blob, as a hand-made image could have them."""
    import dataclasses
    import struct

    image = load_elf(str(path))
    rec = C["MF_TENANTS"] + tenant * C["MF_TENANT_SIZE"]
    index = next(i for i, s in enumerate(image.segments) if s.addr == C["MANIFEST_PA"])
    data = bytearray(image.segments[index].data)
    struct.pack_into("<I", data, rec + C["MT_VCPUS"], vcpus)
    data[rec + C["MT_CORES"]:rec + C["MT_CORES"] + C["MAX_VCPUS"]] = cores.ljust(C["MAX_VCPUS"], b"\0")
    image.segments[index] = dataclasses.replace(image.segments[index], data=bytes(data))
    return image


@pytest.mark.parametrize("vcpus,cores", [(0, b""), (5, b"\0\1\2\3"), (2, b"\1\1"), (1, b"\4"), (2, b"\0\xff")],
                         ids=["no-vcpu", "five-vcpus", "a-core-twice", "core-4", "core-255"])
def test_the_hypervisor_refuses_cores_the_build_would(built, vcpus, cores):
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=4)
    m.load(with_cores(built["smp"], 0, vcpus, cores))
    result = m.run(max_insns=MAX_INSNS)
    assert m.console.text == "hyp: bad manifest\n"
    assert result.exit_code == C["EXIT_BAD_MANIFEST"]
