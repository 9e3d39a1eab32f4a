"""Raw images, and the checks that an image fits the machine's RAM."""

from __future__ import annotations

import pytest

from emu.errors import ImageError
from emu.loader.image import Image, Segment
from emu.loader.raw import check_fits, load_raw

RAM, SIZE = 0x40000000, 0x40000000


def test_raw_image_at_address_with_default_entry(tmp_path):
    path = tmp_path / "fw.bin"
    path.write_bytes(b"\x1f\x20\x03\xd5" * 3)
    img = load_raw(path, 0x40200000)
    assert img.name == "fw" and img.entry == 0x40200000
    assert img.segments == [Segment(0x40200000, path.read_bytes(), 12, "rwx")]
    assert load_raw(path, 0x40200000, entry=0x40200008).entry == 0x40200008


def test_raw_errors(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_raw(tmp_path / "absent.bin", RAM)
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(ImageError, match="empty file"):
        load_raw(tmp_path / "empty.bin", RAM)


def image(*segments: tuple[int, int], entry: int | None = None) -> Image:
    segs = [Segment(addr, b"", size) for addr, size in segments]
    return Image("img", segments[0][0] if entry is None else entry, segs)


def test_image_inside_ram_fits():
    check_fits(image((RAM, 0x1000), (RAM + SIZE - 0x1000, 0x1000)), RAM, SIZE)


def test_segment_outside_ram():
    with pytest.raises(ImageError) as info:
        check_fits(image((0x3FFFF000, 0x2000)), RAM, SIZE)
    assert str(info.value) == "img: segment 0x3ffff000-0x40000fff lies outside RAM 0x40000000-0x7fffffff"


def test_segment_past_the_end_of_ram():
    with pytest.raises(ImageError, match="segment 0x7ffff000-0x80000fff lies outside RAM 0x40000000-0x7fffffff"):
        check_fits(image((0x7FFFF000, 0x2000)), RAM, SIZE)


def test_overlapping_segments():
    with pytest.raises(ImageError, match="segments 0x40000000-0x40000fff and 0x40000800-0x400017ff overlap"):
        check_fits(image((RAM, 0x1000), (RAM + 0x800, 0x1000)), RAM, SIZE)


def test_entry_outside_the_image():
    with pytest.raises(ImageError, match="entry point 0x40001000 is outside the loaded segments"):
        check_fits(image((RAM, 0x1000), entry=RAM + 0x1000), RAM, SIZE)
