"""A partition that changes while it runs (manifests/dynamic.toml, firmware/include/hyp_dyn.inc,
docs/dynamic.md): the manager grows the worker from 2 MiB to 8 MiB and takes the region back; the
hoarder keeps a region past its deadline, loses it by force, is contained at its next access, and
the region reads zero in its next owner. Only the manager may manage."""

from __future__ import annotations

import dataclasses
import io
import re
import struct

import pytest

from emu.loader.constants import firmware_constants
from emu.loader.elf import load_elf
from emu.reference import run_qemu

C = firmware_constants()
REGION_IPA, REGION_SIZE = 0x40200000, 0x600000
POOL_PA = C["POOL_PA"]
CNTFRQ = 62_500_000


def boot(image, cores: int = 1):
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=cores)
    m.load(image if not isinstance(image, (str, bytes)) and hasattr(image, "segments") else load_elf(str(image)))
    return m, m.run(max_insns=200_000_000)


@pytest.fixture(scope="module")
def run(built):
    return boot(built["dynamic"])


def lines_of(text: str, tag: str) -> list[str]:
    return [line for line in text.splitlines()
            if line.startswith(f"[{tag}] ") or re.match(rf"hyp: tenant \d+ \({tag}\): ", line)]


def the_worker_s_checksum() -> int:
    """What the worker must print for its 6 MiB, worked out here from its rule (each doubleword
    at address a holds 3a + 1; the checksum rotates right by 7 and adds each)."""
    c, mask = 0, (1 << 64) - 1
    for a in range(REGION_IPA, REGION_IPA + REGION_SIZE, 8):
        c = ((c >> 7 | c << 57) & mask) + (3 * a + 1) & mask
    return c


def test_the_worker_grows_from_2_to_8_mib_uses_it_and_gives_it_back(run):
    m, result = run
    assert result.exit_code == 1 and result.diagnostic is None, result   # one contained: the hoarder
    worker = lines_of(m.console.text, "worker")
    assert worker[:6] == [
        "hyp: tenant 1 (worker): IPA 0x40000000-0x401fffff PA 0x42000000 entry 0x40000000",
        "[worker] 2 MiB, waiting for the manager",
        "hyp: tenant 1 (worker): granted IPA 0x40200000-0x407fffff (PA 0x48000000)",
        "[worker] granted IPA 0x40200000, bytes 0x600000",
        f"[worker] wrote and read back every doubleword: 0 wrong, checksum {the_worker_s_checksum():#x}",
        "[worker] asked to give back IPA 0x40200000",
    ]
    assert worker[6:8] == ["hyp: tenant 1 (worker): released IPA 0x40200000-0x407fffff: scrubbed",
                           "[worker] released: 0"]
    manager = lines_of(m.console.text, "manager")
    assert "[manager] tenant 1: state 1, RAM 0x200000, cores 0x1, irqs 0x0, toe 0" in manager
    assert "[manager] tenant 1: state 1, RAM 0x800000, cores 0x1, irqs 0x0, toe 0" in manager   # grown
    pools = [line for line in manager if "pool:" in line]
    assert pools == ["[manager] pool: 0x1000000 of 0x1000000 free", "[manager] pool: 0xa00000 of 0x1000000 free",
                     "[manager] pool: 0x1000000 of 0x1000000 free", "[manager] pool: 0x1000000 of 0x1000000 free",
                     "[manager] pool: 0x1000000 of 0x1000000 free"]
    assert any(re.fullmatch(r"\[manager\] t=\d+ released by tenant 1: IPA 0x40200000, bytes 0x600000", line)
               for line in manager)


def test_a_region_kept_past_its_deadline_is_revoked_its_holder_contained_and_its_bytes_scrubbed(run):
    m, _ = run
    text = m.console.text
    hoarder = lines_of(text, "hoarder")
    assert "[hoarder] filled its region" in hoarder
    assert "[hoarder] asked to give it back: keeping it" in hoarder
    assert "hyp: tenant 2 (hoarder): did not release IPA 0x40200000-0x407fffff by its deadline: revoked" in hoarder
    stop = re.fullmatch(r"hyp: tenant 2 \(hoarder\): stage-2 violation at IPA (0x[0-9a-f]+) ESR 0x92000046 "
                        r"PC 0x[0-9a-f]+: stopped", hoarder[-1])
    assert stop and REGION_IPA <= int(stop.group(1), 16) < REGION_IPA + REGION_SIZE, hoarder[-1]
    # Revoked at the deadline, not before: 20 ms of counter after the manager asked.
    asked = int(re.search(r"t=(\d+) reclaim 0x40200000 within 20 ms from tenant 2", text).group(1))
    revoked = int(re.search(r"t=(\d+) revoked from tenant 2", text).group(1))
    assert revoked - asked >= 20 * CNTFRQ // 1000
    # The worker, granted the same blocks next, finds none of the hoarder's bytes.
    assert lines_of(text, "worker")[-4:] == [
        "[worker] granted IPA 0x40200000, bytes 0x600000",
        "[worker] the new region reads zero: 0 doublewords not zero",
        "hyp: tenant 1 (worker): system off",
        "hyp: tenant 1 (worker): IPA 0x40200000-0x407fffff back to the pool, scrubbed",   # it ended
    ]
    assert m.read_phys(POOL_PA, REGION_SIZE) == bytes(REGION_SIZE)
    assert "[manager] tenant 2: state 3, RAM 0x200000, cores 0x1, irqs 0x0, toe 0" in lines_of(text, "manager")


def test_only_the_manager_may_manage(run):
    m, _ = run
    assert lines_of(m.console.text, "hoarder")[1:4] == [
        "hyp: tenant 2 (hoarder): manager call 0x86000011 refused",
        "hyp: tenant 2 (hoarder): manager call 0x86000010 refused",
        "[hoarder] HYP_MEM_GRANT to itself: NOT_SUPPORTED, HYP_PART_INFO of tenant 0: NOT_SUPPORTED",
    ]


def test_the_same_image_gives_the_same_transcript(run, built):
    m, result = run
    again, result2 = boot(built["dynamic"])
    assert again.console.text == m.console.text and result2.exit_code == result.exit_code
    assert again.retired == m.retired


def test_a_hoarder_on_another_core_loses_the_region_too(built):
    """manifests/dynamic_smp.toml: the hoarder spins on core 1, writing its region, while the
    region is taken. Only the TLB maintenance the hypervisor broadcasts (TLBI ...IS) stops its
    stores: without it 39 doublewords of its bytes reached the worker's new region."""
    m, result = boot(built["dynamic_smp"], cores=2)
    assert result.exit_code == 1 and result.diagnostic is None, result
    hoarder = lines_of(m.console.text, "hoarder")
    assert "hyp: tenant 2 (hoarder): did not release IPA 0x40200000-0x407fffff by its deadline: revoked" in hoarder
    assert re.fullmatch(r"hyp: tenant 2 \(hoarder\): stage-2 violation at IPA 0x40[2-7][0-9a-f]{5} .*: stopped",
                        hoarder[-1]), hoarder[-1]
    assert "[worker] the new region reads zero: 0 doublewords not zero" in m.console.text
    assert m.read_phys(POOL_PA, REGION_SIZE) == bytes(REGION_SIZE)


@pytest.mark.qemu
@pytest.mark.parametrize("system, cores", [("dynamic", 1), ("dynamic_smp", 2)])
def test_each_tenant_s_lines_are_qemu_s(qemu, built, system, cores):
    """The same ELF on qemu-system-aarch64: the same lines, tenant by tenant, but for the counter
    values (QEMU's follow the host clock) and where in its loop the hoarder was stopped."""
    m, result = boot(built[system], cores=cores)
    ref = run_qemu(built[system], timeout=120, extra=["-smp", str(cores)])
    assert ref.exit_code == result.exit_code == 1

    def untimed(text: str, tag: str) -> list[str]:
        lines = lines_of(text, tag)
        lines = [re.sub(r"t=\d+", "t=T", line) for line in lines]
        return [re.sub(r"at IPA 0x[0-9a-f]+ (.*) PC 0x[0-9a-f]+", r"at IPA X \1 PC X", line) for line in lines]

    for tag in ("manager", "worker", "hoarder"):
        assert untimed(m.console.text, tag) == untimed(ref.transcript.decode(), tag)


def with_blob(path, **fields):
    """The system image at ``path`` with manifest fields rewritten (``MF_...=value`` of the blob,
    ``MT_FLAGS_<tenant>=value``), as a hand-made image could have them."""
    image = load_elf(str(path))
    index = next(i for i, s in enumerate(image.segments) if s.addr == C["MANIFEST_PA"])
    data = bytearray(image.segments[index].data)
    for name, value in fields.items():
        if name.startswith("MT_FLAGS_"):
            rec = C["MF_TENANTS"] + int(name.rsplit("_", 1)[1]) * C["MF_TENANT_SIZE"]
            struct.pack_into("<I", data, rec + C["MT_FLAGS"], value)
        else:
            struct.pack_into("<Q", data, C[name], value)
    image.segments[index] = dataclasses.replace(image.segments[index], data=bytes(data))
    return image


@pytest.mark.parametrize("fields", [
    {"MT_FLAGS_1": 1},                       # a second manager
    {"MT_FLAGS_0": 8},                       # a flag that means nothing
    {"MT_FLAGS_1": 2, "MT_FLAGS_2": 2},      # two tenants for the console's input
    {"MF_POOL_SIZE": 0x100000},              # half a block
    {"MF_POOL_SIZE": 65 << 21},              # more blocks than POOL_BLOCKS_MAX
], ids=["two-managers", "unknown-flag", "two-console-inputs", "half-a-block", "65-blocks"])
def test_the_hypervisor_refuses_what_the_build_would(built, fields):
    m, result = boot(with_blob(built["dynamic"], **fields))
    assert result.exit_code == C["EXIT_BAD_MANIFEST"] and "hyp: bad manifest" in m.console.text


def test_the_hypervisor_refuses_a_pool_over_a_tenant_s_ram(built):
    """A tenant whose RAM lies in the pool would be handed to another tenant: refused at boot."""
    image = with_blob(built["dynamic"])
    index = next(i for i, s in enumerate(image.segments) if s.addr == C["MANIFEST_PA"])
    data = bytearray(image.segments[index].data)
    rec = C["MF_TENANTS"] + 2 * C["MF_TENANT_SIZE"]
    struct.pack_into("<Q", data, rec + C["MT_PA_BASE"], POOL_PA + 0x200000)
    image.segments[index] = dataclasses.replace(image.segments[index], data=bytes(data))
    m, result = boot(image)
    assert result.exit_code == C["EXIT_BAD_MANIFEST"] and "hyp: bad manifest" in m.console.text
