"""virtio-mmio transports with no device (emu/devices/virtio_mmio.py) against the VIRTIO
specification v1.2, 4.2, and QEMU's hw/virtio/virtio-mmio.c without a backend."""

import pytest

from emu.devices.log import RecordingLog
from emu.devices.virtio_mmio import TRANSPORT_SIZE, TRANSPORTS, VirtioMmioBank

MAGIC, VERSION, DEVICE_ID, VENDOR_ID = 0x000, 0x004, 0x008, 0x00C
STATUS, QUEUE_NUM_MAX, INTERRUPT_STATUS, QUEUE_SEL = 0x070, 0x034, 0x060, 0x030


@pytest.fixture
def bank():
    return VirtioMmioBank(log=RecordingLog())


def rd(bank, transport, off, size=4):
    return bank.read(transport * TRANSPORT_SIZE + off, size)


def wr(bank, transport, off, value, size=4):
    bank.write(transport * TRANSPORT_SIZE + off, size, value)


def test_bank_is_32_transports_0x200_apart():
    assert (TRANSPORTS, TRANSPORT_SIZE, VirtioMmioBank.SIZE) == (32, 0x200, 0x4000)


@pytest.mark.parametrize("transport", [0, 1, 31])
def test_every_transport_identifies_with_no_device(bank, transport):
    assert [rd(bank, transport, off) for off in (MAGIC, VERSION, DEVICE_ID, VENDOR_ID)] == \
        [0x74726976, 1, 0, 0x554D4551]


def test_version_2_option():
    assert rd(VirtioMmioBank(version=2), 5, VERSION) == 2


def test_version_other_than_1_or_2_is_refused():
    with pytest.raises(ValueError):
        VirtioMmioBank(version=3)


def test_read_only_registers_of_the_absent_device_read_zero(bank):
    assert rd(bank, 3, QUEUE_NUM_MAX) == 0 and rd(bank, 3, INTERRUPT_STATUS) == 0
    assert not bank.log.entries


def test_writes_are_ignored(bank):
    wr(bank, 0, STATUS, 0xFF)
    wr(bank, 0, QUEUE_SEL, 3)
    assert rd(bank, 0, STATUS) == 0 and not bank.log.entries


def test_write_to_identification_is_a_guest_error_and_ignored(bank):
    wr(bank, 2, MAGIC, 0)
    assert rd(bank, 2, MAGIC) == 0x74726976 and bank.log.guest_errors


def test_configuration_space_reads_zero(bank):
    assert rd(bank, 0, 0x100) == 0


def test_narrow_access_is_a_guest_error(bank):
    assert rd(bank, 0, MAGIC, 1) == 0
    assert any("size 1" in m for m in bank.log.guest_errors)
