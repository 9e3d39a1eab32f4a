"""The platform's PSCI (Arm DEN 0022) with QEMU virt's functions and values; the conduits and
the full transcripts are compared with QEMU in tests/diff (psci_calls at EL1, probe psci_smc)."""

from __future__ import annotations

import pytest

from emu.cpu.psci import (
    ALREADY_ON,
    INVALID_PARAMETERS,
    NOT_SUPPORTED,
    PSCI_1_1,
    CoreOff,
    PowerOff,
    Psci,
)


@pytest.fixture
def psci():
    return Psci(cores=1)


def test_version_is_1_1(psci):
    assert psci.call(0x84000000, 0, 0, 0) == PSCI_1_1


@pytest.mark.parametrize("fid, present", [(0x84000000, True), (0xC4000003, True), (0x84000003, True),
                                          (0x84000002, True), (0xC4000004, True), (0x8400000A, True),
                                          (0x84000005, False), (0xC400000E, False), (0x12345678, False)])
def test_features_reports_what_is_implemented(psci, fid, present):
    assert psci.call(0x8400000A, fid, 0, 0) == (0 if present else NOT_SUPPORTED)


def test_affinity_info_knows_core_0_and_nothing_else(psci):
    assert psci.call(0xC4000004, 0, 0, 0) == 0           # on
    assert psci.call(0xC4000004, 1, 0, 0) == INVALID_PARAMETERS
    assert psci.call(0xC4000004, 0x80000000, 0, 0) == INVALID_PARAMETERS
    assert psci.call(0xC4000004, 7, 1, 0) == 0           # above level 0: always on


def test_cpu_on_of_the_running_core_is_already_on(psci):
    assert psci.call(0xC4000003, 0, 0x40000000, 0) == ALREADY_ON
    assert psci.call(0x84000003, 5, 0, 0) == INVALID_PARAMETERS


def test_migrate_info_type_says_no_migration_needed(psci):
    assert psci.call(0x84000006, 0, 0, 0) == 2
    assert psci.call(0x84000005, 0, 0, 0) == NOT_SUPPORTED


def test_power_calls_end_the_run_or_the_core(psci):
    with pytest.raises(PowerOff) as off:
        psci.call(0x84000008, 0, 0, 0)
    assert not off.value.reset
    with pytest.raises(PowerOff) as reset:
        psci.call(0x84000009, 0, 0, 0)
    assert reset.value.reset
    with pytest.raises(CoreOff):
        psci.call(0x84000002, 0, 0, 0)


def test_cpu_suspend_returns_at_once_or_refuses_a_bad_power_state(psci):
    assert psci.call(0xC4000001, 0, 0, 0) == 0
    assert psci.call(0xC4000001, 1 << 20, 0, 0) == INVALID_PARAMETERS


def test_unknown_functions_are_not_supported(psci):
    assert psci.call(0x8400001F, 0, 0, 0) == NOT_SUPPORTED
    assert psci.call(0x86000001, 0, 0, 0) == NOT_SUPPORTED


def test_cpu_on_starts_a_secondary_once_and_cpu_off_turns_it_off():
    started = []
    psci = Psci(cores=4, start_core=lambda core, entry, context: started.append((core, entry, context)))
    assert psci.call(0xC4000004, 2, 0, 0) == 1                          # off at reset
    assert psci.call(0xC4000003, 2, 0x40201000, 0x1234_5678_9ABC) == 0
    assert started == [(2, 0x40201000, 0x1234_5678_9ABC)]
    assert psci.call(0xC4000003, 2, 0x40201000, 0) == ALREADY_ON
    assert psci.call(0xC4000004, 2, 0, 0) == 0
    # SMC32 CPU_ON from AArch64 uses the registers whole, as QEMU does.
    assert psci.call(0x84000003, 3, 0xFFFF_0000_4020_2000, 0xFFFF_0000_0000_0001) == 0
    assert started[-1] == (3, 0xFFFF_0000_4020_2000, 0xFFFF_0000_0000_0001)
    with pytest.raises(CoreOff):
        psci.call(0x84000002, 0, 0, 0, caller=2)
    assert psci.call(0xC4000004, 2, 0, 0) == 1
    assert psci.call(0xC4000003, 4, 0, 0) == INVALID_PARAMETERS


def test_the_last_core_on_stays_on_in_the_books_when_it_calls_cpu_off():
    psci = Psci(cores=2, start_core=lambda *a: None)
    with pytest.raises(CoreOff):
        psci.call(0x84000002, 0, 0, 0, caller=0)
    assert psci.on == [True, False]   # the machine ends the run instead (a fault)
