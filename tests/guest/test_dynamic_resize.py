"""Resizing under load (manifests/resize.toml, docs/dynamic.md): the manager grows the elastic
tenant from 1 core and 2 MiB to 2 cores and 8 MiB while it works through 1024 units, then takes
the core and the region back. The second vCPU is stopped wherever it is; the unit it was in is
done again, and the sum of the units' checksums is the one worked out here."""

from __future__ import annotations

import io
import re

import pytest

from emu.loader.elf import load_elf
from emu.reference import run_qemu

UNITS, WORDS = 1024, 0x10000 // 8


def expected_checksum() -> int:
    """The elastic tenant's rule, worked out here: unit k's words are w = (k * 2^32 + i) *
    0x9e3779b97f4a7c15, then w ^ (w >> 29); its checksum rotates right by 13 and adds each; the
    result is the sum of the units' checksums, all mod 2^64."""
    mask, total = (1 << 64) - 1, 0
    for k in range(UNITS):
        c, base = 0, k << 32
        for i in range(WORDS):
            w = (base + i) * 0x9E3779B97F4A7C15 & mask
            w ^= w >> 29
            c = (((c >> 13) | (c << 51)) & mask) + w & mask
        total = total + c & mask
    return total


@pytest.fixture(scope="module")
def checksum() -> int:
    return expected_checksum()


def boot(path, cores: int):
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=cores)
    m.load(load_elf(str(path)))
    return m, m.run(max_insns=500_000_000)


@pytest.fixture(scope="module")
def run(built):
    return boot(built["resize"], 2)


def tagged(text: str, tag: str) -> list[str]:
    return [line for line in text.splitlines()
            if line.startswith(f"[{tag}] ") or re.match(rf"hyp: tenant \d+ \({tag}\): ", line)]


def done_line(text: str) -> re.Match:
    m = re.search(r"\[elastic\] done: 1024 units, checksum (0x[0-9a-f]+), done again (\d+), "
                  r"by vCPU 0/1 (\d+)/(\d+)", text)
    assert m, text
    return m


def test_it_grows_to_two_cores_and_8_mib_under_load_and_loses_no_unit(run, checksum):
    m, result = run
    assert result.exit_code == 0 and result.diagnostic is None, result
    text = m.console.text
    elastic = [re.sub(r" \(\d+ units claimed\)", "", line) for line in tagged(text, "elastic")]
    assert elastic[1:] == [
        "[elastic] 1 core, 2 MiB: 1024 units of work",
        "hyp: tenant 1 (elastic): granted IPA 0x40200000-0x407fffff (PA 0x48000000)",
        "hyp: tenant 1 (elastic): granted core 1 as vCPU 1",
        "[elastic] grown to 8 MiB, buffers moved there",
        "[elastic] core 1 granted: vCPU 1 started: CPU_ON 0",
        "hyp: tenant 1 (elastic): core 1 taken back, vCPU 1 stopped",
        "[elastic] vCPU 1 stopped: its core 1 was taken back while it ran in its work",
        "hyp: tenant 1 (elastic): released IPA 0x40200000-0x407fffff: scrubbed",
        "[elastic] buffers back home, region released: 0",
        elastic[-2],
        "hyp: tenant 1 (elastic): system off",
    ]
    done = done_line(text)
    assert int(done.group(1), 16) == checksum
    redone, by0, by1 = int(done.group(2)), int(done.group(3)), int(done.group(4))
    assert redone == 1 and by1 > 0 and by0 + by1 + redone == UNITS
    manager = tagged(text, "manager")
    assert "[manager] elastic: RAM 0x800000, cores 0x3, regions 0x40000000+0x200000 0x40200000+0x600000 " in manager
    assert "[manager] elastic: RAM 0x200000, cores 0x1, regions 0x40000000+0x200000 " in manager   # and back
    assert "[manager] the region came back" in manager


def test_the_same_image_gives_the_same_run(run, built):
    m, _ = run
    again, _ = boot(built["resize"], 2)
    assert again.console.text == m.console.text and again.retired == m.retired


def test_a_core_the_machine_lacks_is_refused_and_the_work_is_done_on_one(built, checksum):
    """On one core, HYP_CORE_GRANT of core 1 fails (PSCI cannot start it): -2, and the tenant does
    every unit with its one vCPU, to the same checksum."""
    m, result = boot(built["resize"], 1)
    assert result.exit_code == 0, result
    assert re.search(r"\[manager\] t=\d+ grant core 1: -2", m.console.text)
    done = done_line(m.console.text)
    assert int(done.group(1), 16) == checksum and done.group(2) == "0" and done.group(4) == "0"


@pytest.mark.qemu
def test_qemu_gives_the_same_steps_and_checksum(qemu, run, built, checksum):
    """QEMU -smp 2 runs its cores as threads on the host clock: how many units were claimed at
    each step, how the work split between the vCPUs, whether the second vCPU was stopped inside a
    unit or between two, and where the hypervisor's lines fall among the tenants' differ. Each
    tenant's own lines, in order, and the sum do not."""
    m, _ = run
    ref = run_qemu(built["resize"], timeout=120, extra=["-smp", "2"])
    assert ref.exit_code == 0

    def steps(text: str, tag: str) -> list[str]:
        lines = [line for line in text.splitlines() if line.startswith(f"[{tag}] ")]
        lines = [re.sub(r" \(\d+ units claimed\)|t=\d+ ", "", line) for line in lines]
        return [re.sub(r"done again \d+, by vCPU 0/1 \d+/\d+", "done again -", line) for line in lines]

    for tag in ("manager", "elastic"):
        assert steps(m.console.text, tag) == steps(ref.transcript.decode(), tag)
    done = done_line(ref.transcript.decode())
    assert int(done.group(1), 16) == checksum
    assert sum(int(done.group(n)) for n in (2, 3, 4)) == UNITS
