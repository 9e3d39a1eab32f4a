"""The generic PCIe host bridge's ECAM (emu/devices/gpex.py) against PCIe 7.2.2 and QEMU's
GPEX with no device behind it."""

import pytest

from emu.devices.gpex import GpexEcam
from emu.devices.log import RecordingLog

at = GpexEcam.ecam_offset


@pytest.fixture
def ecam():
    return GpexEcam(log=RecordingLog())


def test_window_is_256_buses():
    assert GpexEcam.SIZE == 256 << 20 and at(255, 31, 7, 0xFFC) == GpexEcam.SIZE - 4


def test_host_bridge_identification(ecam):
    assert ecam.read(0x00, 4) == 0x0008_1B36
    assert ecam.read(0x00, 2) == 0x1B36 and ecam.read(0x02, 2) == 0x0008
    assert ecam.read(0x08, 4) == 0x0600_0000 and ecam.read(0x0B, 1) == 0x06
    assert ecam.read(0x2C, 4) == 0x1100_1AF4
    assert ecam.read(0x0E, 1) == 0  # header type 0, single function


def test_header_reads_zero_where_qemu_has_nothing(ecam):
    for off in (0x04, 0x0C, 0x10, 0x24, 0x28, 0x30, 0x34, 0x38, 0x3C, 0x40, 0xFC):
        assert ecam.read(off, 4) == 0, hex(off)
    assert not ecam.log.entries


def test_command_keeps_only_qemus_writable_enables(ecam):
    ecam.write(0x04, 4, 0xFFFF_FFFF)
    assert ecam.read(0x04, 4) == 0x507
    ecam.write(0x04, 2, 0)
    assert ecam.read(0x04, 4) == 0


def test_read_only_header_fields_ignore_writes_quietly(ecam):
    for off in (0x00, 0x08, 0x10, 0x2C, 0x30):
        before = ecam.read(off, 4)
        ecam.write(off, 4, 0xFFFF_FFFF)
        assert ecam.read(off, 4) == before
    assert not ecam.log.entries


def test_cache_line_size_and_interrupt_line_are_writable(ecam):
    ecam.write(0x0C, 4, 0xFFFF_FFFF)
    ecam.write(0x3C, 4, 0xFFFF_FFFF)
    assert ecam.read(0x0C, 4) == 0xFF and ecam.read(0x3C, 4) == 0xFF


def test_byte_write_merges_into_the_dword(ecam):
    ecam.write(0x3C, 1, 0x2A)
    ecam.write(0x0C, 1, 0x10)
    assert ecam.read(0x3C, 4) == 0x2A and ecam.read(0x0C, 4) == 0x10


def test_device_specific_dwords_are_storage(ecam):
    ecam.write(0x40, 4, 0x1234_5678)
    assert ecam.read(0x40, 4) == 0x1234_5678 and ecam.read(0x42, 2) == 0x1234


@pytest.mark.parametrize("where", [at(0, 0, 0, 0x100), at(0, 0, 1), at(0, 1, 0), at(0, 31, 0), at(1, 0, 0),
                                   at(255, 31, 7, 0xFFC)])
@pytest.mark.parametrize("size", [1, 2, 4])
def test_empty_functions_read_all_ones(ecam, where, size):
    assert ecam.read(where, size) == (1 << (8 * size)) - 1


def test_writes_to_empty_functions_are_ignored(ecam):
    ecam.write(at(0, 1, 0, 4), 4, 7)
    assert ecam.read(at(0, 1, 0, 4), 4) == 0xFFFF_FFFF and not ecam.log.entries


def test_empty_function_accesses_are_traced(ecam):
    seen = []
    ecam.trace = lambda *a: seen.append(a)
    ecam.read(at(2, 0, 0), 4)
    ecam.write(at(2, 0, 0), 4, 1)
    assert [(op, off) for _, op, off, *_ in seen] == [("read", 0x200000), ("write", 0x200000)]
