"""The platform's PSCI firmware (Arm DEN 0022), as QEMU's virt board provides it built in.

The board has no firmware image for the EL above the one it boots at, so, like QEMU, the
machine answers PSCI calls itself through the conduit QEMU uses: SMC when the core boots at EL2
(virtualization=on: HVC belongs to the hypervisor), HVC when it boots at EL1 (then SMC is
UNDEFINED, as on QEMU, which has no EL3 there).

The functions and values are QEMU 7.2's (target/arm/psci.c): VERSION (1.1), FEATURES,
CPU_ON, CPU_OFF, CPU_SUSPEND, AFFINITY_INFO, MIGRATE_INFO_TYPE (2: no migration needed),
SYSTEM_OFF and SYSTEM_RESET (both end the run, -no-reboot semantics); anything else is
NOT_SUPPORTED. Cores are named by their MPIDR affinity fields (core N is N on this board).

CPU_ON starts the core at once, so AFFINITY_INFO never answers ON_PENDING (QEMU's TCG may, for
a moment). Simplified: CPU_SUSPEND returns at once (a standby state may end at any time, so
this is a permitted wake-up); a core that CPU_OFF turns off is reported to the machine, which
ends the run when no core is left running.
"""

from __future__ import annotations

PSCI_VERSION = 0x84000000
PSCI_CPU_SUSPEND_32 = 0x84000001
PSCI_CPU_SUSPEND_64 = 0xC4000001
PSCI_CPU_OFF = 0x84000002
PSCI_CPU_ON_32 = 0x84000003
PSCI_CPU_ON_64 = 0xC4000003
PSCI_AFFINITY_INFO_32 = 0x84000004
PSCI_AFFINITY_INFO_64 = 0xC4000004
PSCI_MIGRATE_32 = 0x84000005
PSCI_MIGRATE_64 = 0xC4000005
PSCI_MIGRATE_INFO_TYPE = 0x84000006
PSCI_SYSTEM_OFF = 0x84000008
PSCI_SYSTEM_RESET = 0x84000009
PSCI_FEATURES = 0x8400000A

SMC64 = 0x40000000  # bit 30 of a function ID: the SMC64/HVC64 calling convention

SUCCESS = 0
NOT_SUPPORTED = -1
INVALID_PARAMETERS = -2
ALREADY_ON = -4
TOS_MIGRATION_NOT_REQUIRED = 2
PSCI_1_1 = 0x00010001

# AFFINITY_INFO's answers (DEN 0022, 5.7.2)
AFFINITY_ON = 0
AFFINITY_OFF = 1

MASK64 = (1 << 64) - 1

# The functions FEATURES reports as present (QEMU's list).
_FEATURES = frozenset((PSCI_VERSION, PSCI_MIGRATE_INFO_TYPE, PSCI_AFFINITY_INFO_32, PSCI_AFFINITY_INFO_64,
                       PSCI_SYSTEM_RESET, PSCI_SYSTEM_OFF, PSCI_CPU_ON_32, PSCI_CPU_ON_64, PSCI_CPU_OFF,
                       PSCI_CPU_SUSPEND_32, PSCI_CPU_SUSPEND_64, PSCI_FEATURES))


class PowerOff(Exception):
    """The guest asked the platform to power off or reset."""

    def __init__(self, reset: bool):
        super().__init__("system reset" if reset else "system off")
        self.reset = reset


class CoreOff(Exception):
    """CPU_OFF: the calling core is off and does not return from the call."""


class Psci:
    """PSCI for ``cores`` cores; core 0 is on at reset, the others off until CPU_ON, which calls
    ``start_core(index, entry, context_id)`` to start one."""

    def __init__(self, cores: int = 1, start_core=None):
        self.on = [True] + [False] * (cores - 1)
        self._start_core = start_core

    def _core(self, mpidr: int) -> int | None:
        # The affinity fields, as QEMU's arm_get_cpu_by_id compares them (no U or MT bits).
        return mpidr if 0 <= mpidr < len(self.on) else None

    def call(self, fid: int, x1: int, x2: int, x3: int, caller: int = 0) -> int:
        """The value for X0 (as a signed number), or raises PowerOff or CoreOff. ``caller`` is
        the index of the calling core."""
        fid &= 0xFFFFFFFF  # the arguments are used whole, SMC32 IDs too, as QEMU does
        if fid == PSCI_VERSION:
            return PSCI_1_1
        if fid == PSCI_FEATURES:
            return SUCCESS if (x1 & 0xFFFFFFFF) in _FEATURES else NOT_SUPPORTED
        if fid == PSCI_MIGRATE_INFO_TYPE:
            return TOS_MIGRATION_NOT_REQUIRED
        if fid in (PSCI_AFFINITY_INFO_32, PSCI_AFFINITY_INFO_64):
            if x2 != 0:
                return SUCCESS  # above affinity level 0 everything is on (QEMU)
            core = self._core(x1)
            if core is None:
                return INVALID_PARAMETERS
            return AFFINITY_ON if self.on[core] else AFFINITY_OFF
        if fid in (PSCI_CPU_ON_32, PSCI_CPU_ON_64):
            core = self._core(x1)
            if core is None:
                return INVALID_PARAMETERS
            if self.on[core]:
                return ALREADY_ON
            if self._start_core is None:
                return NOT_SUPPORTED
            self.on[core] = True
            self._start_core(core, x2, x3)
            return SUCCESS
        if fid in (PSCI_CPU_SUSPEND_32, PSCI_CPU_SUSPEND_64):
            return INVALID_PARAMETERS if x1 & 0xFFFE0000 else SUCCESS
        if fid == PSCI_CPU_OFF:
            if sum(self.on) > 1:
                self.on[caller] = False
            raise CoreOff()
        if fid == PSCI_SYSTEM_OFF:
            raise PowerOff(reset=False)
        if fid == PSCI_SYSTEM_RESET:
            raise PowerOff(reset=True)
        return NOT_SUPPORTED
