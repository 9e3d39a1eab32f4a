"""The EL3 firmware's PSCI service (Arm DEN 0022), reached by SMC from EL2 or EL1.

The board has no EL3 firmware image; like QEMU's built-in PSCI conduit, the machine answers
SMC calls in place of one. Only what a single-core board needs: version, features, SYSTEM_OFF
and SYSTEM_RESET (both end the run; -no-reboot semantics), and NOT_SUPPORTED for the rest.
"""

from __future__ import annotations

PSCI_VERSION = 0x84000000
PSCI_CPU_ON_32 = 0x84000003
PSCI_CPU_ON_64 = 0xC4000003
PSCI_SYSTEM_OFF = 0x84000008
PSCI_SYSTEM_RESET = 0x84000009
PSCI_FEATURES = 0x8400000A

PSCI_NOT_SUPPORTED = (1 << 64) - 1  # -1
PSCI_1_1 = 0x00010001


class PowerOff(Exception):
    """The guest asked the platform to power off or reset."""

    def __init__(self, reset: bool):
        super().__init__("system reset" if reset else "system off")
        self.reset = reset


def psci_call(fid: int, x1: int) -> int:
    """Result for X0, or raises PowerOff."""
    fid &= 0xFFFFFFFF
    if fid == PSCI_VERSION:
        return PSCI_1_1
    if fid == PSCI_SYSTEM_OFF:
        raise PowerOff(reset=False)
    if fid == PSCI_SYSTEM_RESET:
        raise PowerOff(reset=True)
    if fid == PSCI_FEATURES:
        return 0 if (x1 & 0xFFFFFFFF) in (PSCI_VERSION, PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET, PSCI_FEATURES) else PSCI_NOT_SUPPORTED
    return PSCI_NOT_SUPPORTED
