"""A primary that schedules (manifests/primary.toml, firmware/include/hyp_ffa.inc): the manager runs
the other tenants with FF-A's FFA_RUN, round robin and then by priority, and FFA_RUN returns
why the secondary gave the core back: FFA_YIELD, FFA_MSG_WAIT, a message sent (FFA_MSG_SEND2),
FFA_INTERRUPT when the primary's own timer preempts it, FFA_ERROR(ABORTED) when it was
contained. Messages go between the VMs' RX/TX buffers. Only the primary may run anyone, and no
VM can send as another or map a buffer outside its RAM."""

from __future__ import annotations

import dataclasses
import io
import struct

import pytest

from emu.loader.constants import firmware_constants
from emu.loader.elf import load_elf
from emu.reference import run_qemu

C = firmware_constants()

# What the programs of guest/ffa/ must print, in order, on one core: the primary's choices and
# the secondaries' steps between them.
EXPECTED = [
    "[primary] FF-A 1.1, primary vm_id 1",
    "[primary] round robin:",
    *[line for step in (1, 2, 3) for line in (
        f"[alpha] step {step} of vm 2", "[primary] run vm 2: yield",
        f"[beta] step {step} of vm 3", "[primary] run vm 3: yield")],
    "[primary] by priority, beta first:",
    "[beta] step 4 of vm 3", "[primary] run vm 3: yield",
    "[beta] step 5 of vm 3", "[primary] run vm 3: yield",
    "[beta] waiting for a message", "[primary] run vm 3: blocked (msg wait, no timeout)",
    "[alpha] step 4 of vm 2", "[primary] run vm 2: yield",
    "[alpha] step 5 of vm 2", "[primary] run vm 2: yield",
    "[alpha] waiting for a message", "[primary] run vm 2: blocked (msg wait, no timeout)",
    # FF-A messages: a ping answered, then one passed on from alpha to beta
    "[primary] messages:",
    "[alpha] got 'ping' from vm 1", "[primary] run vm 2: sent a message to vm 1",
    "[primary] got 'pong from vm 2' from vm 2",
    "[alpha] got 'pass it on' from vm 1", "[primary] run vm 2: sent a message to vm 3",
    "[beta] got 'passed on by vm 2' from vm 2", "[primary] run vm 3: blocked (msg wait, no timeout)",
    "[primary] run vm 2: blocked (msg wait, no timeout)",
    "[primary] the rogue, with our timer armed 1 ms ahead:",
    "hyp: tenant 3 (rogue): FFA_RUN refused",
    "[rogue] FFA_RUN of vm 2: error -1",
    "[rogue] FFA_RXTX_MAP of a buffer outside its RAM: error -2",
    "hyp: tenant 3 (rogue): FFA_MSG_SEND2 as vm 2 refused",
    "[rogue] FFA_MSG_SEND2 as vm 2: error -2",
    "[rogue] spinning, never yielding",
    "[primary] run vm 4: preempted (interrupt)",
    "[rogue] reading another tenant's RAM",
    "hyp: tenant 3 (rogue): stage-2 violation at IPA 0x41000000 ESR 0x93c08006 PC {read_other:#x}: stopped",
    "[primary] run vm 4: error -8",
    "[primary] run vm 4: error -8",
    "[primary] run vm 7: error -2",
    "[primary] done",
    "hyp: tenant 0 (primary): system off",
    "hyp: all tenants stopped, 1 contained",
]


def boot(image):
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(image)
    return m, m.run(max_insns=200_000_000)


@pytest.fixture(scope="module")
def run(built):
    return boot(load_elf(str(built["primary"])))


def body(text: str) -> list[str]:
    """The transcript after the banner and the partitions."""
    lines = text.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("[")):]


def test_the_primary_runs_its_secondaries_round_robin_then_by_priority(run, built):
    m, result = run
    assert result.exit_code == 1 and result.diagnostic is None, result      # the rogue, contained
    read_other = load_elf(str(built["ffa_rogue"])).symbols["read_other"]    # its load of tenant 0's RAM
    assert body(m.console.text) == [line.format(read_other=read_other) for line in EXPECTED]


def test_a_message_lands_only_in_its_receiver_s_rx_buffer(run):
    """Beta's RX buffer (its last page, PA = its RAM + 0x1ff000) holds the one message alpha passed
    on, not the rogue's forged one; the primary's holds alpha's answer."""
    m, _ = run
    rx = lambda pa: m.read_phys(pa + 0x1FF000, 0x40)
    beta, primary = rx(C["TENANT_PA_BASE"] + 2 * C["TENANT_PA_STRIDE"]), rx(C["TENANT_PA_BASE"])
    assert struct.unpack_from("<IHHI", beta, 8) == (0x20, 3, 2, 17) and beta[0x20:0x31] == b"passed on by vm 2"
    assert struct.unpack_from("<IHHI", primary, 8) == (0x20, 1, 2, 14) and primary[0x20:0x2E] == b"pong from vm 2"


def test_the_same_image_gives_the_same_transcript(run, built):
    m, _ = run
    again, _ = boot(load_elf(str(built["primary"])))
    assert again.console.text == m.console.text and again.retired == m.retired


@pytest.mark.qemu
def test_qemu_gives_the_same_lines_tenant_by_tenant(qemu, run, built):
    """QEMU's counter is the host's clock: on a loaded host the primary's 1 ms timer can cut the
    rogue's first run short while it still makes its refused calls, which moves the primary's
    "preempted" line among the rogue's. Each tenant's own lines, and the hypervisor's, are the
    same, in the same order."""
    m, result = run
    ref = run_qemu(built["primary"], timeout=120)
    assert ref.exit_code == result.exit_code

    def by_tenant(text: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for line in text.splitlines():
            tag = line[1:line.index("]")] if line.startswith("[") else "hyp"
            out.setdefault(tag, []).append(line)
        return out

    assert by_tenant(ref.transcript.decode()) == by_tenant(m.console.text)


def with_blob(path, scheduler: int | None = None, quantum: int | None = None, vcpus: tuple | None = None,
              flags: tuple | None = None):
    """The system image at ``path`` with its manifest blob rewritten as a hand-made image could be."""
    image = load_elf(str(path))
    index = next(i for i, s in enumerate(image.segments) if s.addr == C["MANIFEST_PA"])
    data = bytearray(image.segments[index].data)
    if scheduler is not None:
        struct.pack_into("<Q", data, C["MF_SCHEDULER"], scheduler)
    if quantum is not None:
        struct.pack_into("<Q", data, C["MF_QUANTUM"], quantum)
    if vcpus is not None:
        tenant, n, cores = vcpus
        rec = C["MF_TENANTS"] + tenant * C["MF_TENANT_SIZE"]
        struct.pack_into("<I", data, rec + C["MT_VCPUS"], n)
        data[rec + C["MT_CORES"]:rec + C["MT_CORES"] + len(cores)] = cores
    if flags is not None:
        tenant, value = flags
        struct.pack_into("<I", data, C["MF_TENANTS"] + tenant * C["MF_TENANT_SIZE"] + C["MT_FLAGS"], value)
    image.segments[index] = dataclasses.replace(image.segments[index], data=bytes(data))
    return image


@pytest.mark.parametrize("change", [
    {"scheduler": 2},                        # no such scheduler
    {"quantum": 62500},                      # a time slice beside the primary
    {"vcpus": (1, 2, b"\0\1")},              # a secondary with two vCPUs
    {"vcpus": (2, 1, b"\1")},                # a secondary on core 1
    {"flags": (0, 0)},                       # no manager to be the primary
], ids=["scheduler-2", "time-slice", "two-vcpus", "core-1", "no-primary"])
def test_the_hypervisor_refuses_what_the_build_would(built, change):
    m, result = boot(with_blob(built["primary"], **change))
    assert result.exit_code == C["EXIT_BAD_MANIFEST"] and "hyp: bad manifest" in m.console.text


# The RTOS as the primary (guest/rtos/ffa_primary.s, manifests/primary_rtos.toml): a task per VM.
RTOS_EXPECTED = [
    "[primary] an RTOS primary: a task per VM, round robin, then by priority",
    *[line for step in (1, 2, 3) for line in (
        f"[alpha] step {step} of vm 2", "[primary] run vm 2: yield",
        f"[beta] step {step} of vm 3", "[primary] run vm 3: yield")],
    "[primary] by priority: the urgent task runs beta, then alpha",
    "[beta] step 4 of vm 3", "[primary] run vm 3: yield",
    "[beta] step 5 of vm 3", "[primary] run vm 3: yield",
    "[beta] waiting for a message", "[primary] run vm 3: blocked",
    "[alpha] step 4 of vm 2", "[primary] run vm 2: yield",
    "[alpha] step 5 of vm 2", "[primary] run vm 2: yield",
    "[alpha] waiting for a message", "[primary] run vm 2: blocked",
    "[primary] done",
    "hyp: tenant 0 (primary): system off",
    "hyp: all tenants stopped, 0 contained",
]


def test_an_rtos_primary_schedules_the_vms_with_its_own_tasks(built):
    """Two tasks of one priority take turns, each running its VM: round robin; then a more urgent
    task, woken by a semaphore, runs beta until it blocks and then alpha. The same every run."""
    m, result = boot(load_elf(str(built["primary_rtos"])))
    assert result.exit_code == 0 and result.diagnostic is None, result
    assert body(m.console.text) == RTOS_EXPECTED
    again, _ = boot(load_elf(str(built["primary_rtos"])))
    assert again.console.text == m.console.text


@pytest.mark.qemu
def test_an_rtos_primary_gives_qemu_s_lines(qemu, built):
    """On QEMU the kernel's tick follows the host's clock, so it may preempt a VM now and then
    ("preempted by our tick"); the task runs it again, and with time slicing the other task of
    its priority may take its turn first. What each VM prints, what its runs came back with, and
    the primary's own lines are the same, in order."""
    ref = run_qemu(built["primary_rtos"], timeout=120)
    assert ref.exit_code == 0
    theirs = [line for line in body(ref.transcript.decode()) if "preempted by our tick" not in line]

    def views(lines: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for line in lines:
            key = next((f"vm {n}" for n in (2, 3) if f"of vm {n}" in line or f"run vm {n}:" in line), "rest")
            out.setdefault(key, []).append(line)
        return out

    assert views(theirs) == views(RTOS_EXPECTED)
