"""Differential tests: the same ELF on qemu-system-aarch64 and on our emulator must print the
same UART transcript and end with the same exit code. This is how we know the exception-entry
glue is right: the probes print every register an exception entry writes."""

from __future__ import annotations

import pytest
from conftest import ROOT, boot

from emu.reference import run_qemu

PROBES = sorted(p.stem for p in (ROOT / "guest" / "probes").glob("*.s"))

# Unicorn 2.1.4 translates with QEMU 5.0, which does not model these; QEMU 7.2 does. Strict
# xfail: the day Unicorn gains them the test says so.
KNOWN_DIVERGENCES = {
    "dabt_align": "Unicorn does not check SCTLR_ELx.A (or Device-memory alignment) for ordinary loads",
    "fp_trap": "Unicorn never raises FP/SIMD access traps (CPACR_EL1.FPEN, CPTR_EL2.TFP)",
}

# Systems whose transcript follows from program logic alone (no dependence on how fast time
# passes relative to instructions, which QEMU takes from the host clock).
SYSTEMS = ["demo", "attack_write", "solo", "sgi", "attack_gic", "contract"]


def compare(qemu, path, start_el: int = 2):
    ref = run_qemu(path, timeout=30, start_el=start_el)
    m, result, _ = boot(path, max_insns=50_000_000, start_el=start_el)
    assert ref.exit_code is not None, f"QEMU did not finish {path.name}"
    assert m.console.transcript.decode() == ref.transcript.decode()
    assert result.exit_code == ref.exit_code
    assert ref.transcript, "empty transcript: nothing was compared"


@pytest.mark.qemu
@pytest.mark.parametrize("probe", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DIVERGENCES[p])) if p in KNOWN_DIVERGENCES else p
    for p in PROBES
])
def test_exception_probe_matches_qemu(qemu, built, probe):
    compare(qemu, built[f"probe_{probe}"])


@pytest.mark.qemu
@pytest.mark.parametrize("system", SYSTEMS)
def test_hypervisor_system_matches_qemu(qemu, built, system):
    compare(qemu, built[system])


@pytest.mark.qemu
def test_semihosting_exit_code_matches_qemu(qemu, built):
    compare(qemu, built["bad_exit_code"])


def test_probe_set_covers_the_required_cases():
    assert {"svc_el1", "hvc", "stage2", "undef", "sysreg_trap", "dabt_excl"} <= set(PROBES)


# Bare-metal EL1 programs for QEMU virt (no virtualization): they program the GICv2 and the
# virtual timer themselves and take interrupts through their own vectors.
EL1_PROGRAMS = ["contract_check", "rtos_demo_a", "rtos_demo_b", "psci_calls"]


@pytest.mark.qemu
@pytest.mark.parametrize("program", EL1_PROGRAMS)
def test_el1_interrupt_driven_program_matches_qemu(qemu, built, program):
    compare(qemu, built[program], start_el=1)


@pytest.mark.qemu
def test_contract_check_as_a_tenant_prints_what_it_prints_on_bare_qemu(qemu, built):
    """The tenant contract: an EL1 program for QEMU virt runs unmodified under our hypervisor in
    our emulator, with the same output as on qemu-system-aarch64 -M virt directly."""
    ref = run_qemu(built["contract_check_tenant"], timeout=30, start_el=1)
    m, result, _ = boot(built["contract"])
    assert ref.exit_code == 0 and result.exit_code == 0
    tagged = [l for l in m.console.text.splitlines() if l.startswith("[contract] ")]
    assert [l[len("[contract] "):] for l in tagged] == ref.transcript.decode().splitlines()
    assert len(tagged) >= 8


@pytest.mark.qemu
def test_the_reference_needs_no_optional_firmware(qemu, built, tmp_path):
    """QEMU started with an empty firmware directory (-L) still runs every kind of image we
    compare: nothing in the reference command line may need a ROM from an optional package
    (the default NIC's efi-virtio.rom once made a fresh machine fail)."""
    empty = tmp_path / "firmware"
    empty.mkdir()
    for name, start_el in (("probe_hvc", 2), ("solo", 2), ("rtos_demo_a", 1)):
        run = run_qemu(built[name], timeout=30, start_el=start_el, extra=["-L", str(empty)])
        assert run.exit_code == 0, (name, run.stderr.decode(errors="replace"))
        assert run.transcript
