"""arm64 Linux Images and QEMU's placement rules for -kernel, -initrd and -bios
(emu/loader/linux.py), and a synthesized Image booted end to end."""

from __future__ import annotations

import gzip
import io
import pytest
from conftest import GUEST, arm64_image

from emu.errors import ImageError
from emu.loader.image import Image, Segment
from emu.loader.linux import (KERNEL64_LOAD_OFFSET, arm64_header, check_disjoint, gunzip, linux_load_offset,
                              place_bios, place_executable, place_linux)

RAM = (0x40000000, 0x40000000)   # the virt board's default 1 GiB
SZ_2M = 2 << 20

def test_header_is_parsed():
    h = arm64_header(arm64_image(text_offset=0x80000, image_size=0x1234000))
    assert (h.text_offset, h.image_size) == (0x80000, 0x1234000)
    assert arm64_header(b"\0" * 0x40) is None


@pytest.mark.parametrize("text_offset, image_size, offset", [
    (0, 0x1000, SZ_2M),                   # below QEMU's boot stub: moved up 2 MiB
    (0x80000, 0x1000, 0x80000),           # a pre-5.8 kernel's text_offset
    (0x80000, 0, KERNEL64_LOAD_OFFSET),   # image_size 0: text_offset is not trusted
])
def test_load_offset_as_qemu(text_offset, image_size, offset):
    assert linux_load_offset(arm64_image(text_offset, image_size)) == offset


def test_file_without_magic_loads_at_0x80000():
    assert linux_load_offset(b"\0" * 0x100) == KERNEL64_LOAD_OFFSET


def test_kernel_initrd_and_dtb_placement():
    kernel = arm64_image(image_size=0x1800000)
    layout = place_linux(kernel, "Image", RAM, b"\1" * 0x3456, "initrd", dtb_size=0x2000)
    assert layout.entry == 0x40200000
    # initrd at RAM + min(RAM/2, 128 MiB), the kernel (0x40200000 + 24 MiB) being below it
    assert layout.initrd == (0x48000000, 0x48003456)
    assert layout.dtb_addr == 0x48200000                    # 2 MiB aligned after the initrd
    assert layout.registers == (0x48200000, 0, 0, 0)
    assert [i.name for i in layout.images] == ["Image", "initrd"]


def test_initrd_follows_a_kernel_past_128m():
    layout = place_linux(arm64_image(image_size=0x9000000), "Image", RAM, b"\1" * 16, "initrd", 0x2000)
    assert layout.initrd[0] == 0x40200000 + 0x9000000


def test_small_ram_puts_initrd_halfway():
    layout = place_linux(arm64_image(), "Image", (0x40000000, 64 << 20), b"\1" * 16, "initrd", 0x2000)
    assert layout.initrd[0] == 0x42000000


def test_kernel_too_big_for_ram():
    with pytest.raises(ImageError, match="Image: kernel of 0x4000000 bytes at 0x40200000 does not fit in RAM"):
        place_linux(arm64_image(image_size=64 << 20), "Image", (0x40000000, 64 << 20), None, "initrd", 0x2000)


def test_initrd_too_big_for_ram():
    with pytest.raises(ImageError, match="rd.img: initrd of .* does not fit"):
        place_linux(arm64_image(), "Image", (0x40000000, 64 << 20), b"\1" * (40 << 20), "rd.img", 0x2000)


def test_no_room_for_the_dtb():
    with pytest.raises(ImageError, match="no room for the device tree"):
        place_linux(arm64_image(), "Image", (0x40000000, 64 << 20), b"\1" * ((32 << 20) - 0x1000), "rd", 0x2000)


def test_elf_kernel_gets_the_dtb_at_ram_base_when_room():
    above = Image("k", 0x40080000, [Segment(0x40080000, b"\0" * 16, 16)])
    assert place_executable(above, RAM, 0x2000).dtb_addr == 0x40000000
    assert place_executable(above, RAM, 0x90000).dtb_addr is None       # would reach the image
    at_base = Image("k", 0x40000000, [Segment(0x40000000, b"\0" * 16, 16)])
    assert place_executable(at_base, RAM, 0x2000).dtb_addr is None
    assert place_executable(at_base, RAM, 0x2000).registers is None


def test_bios_larger_than_flash():
    with pytest.raises(ImageError, match="fw.bin: 0x2001 bytes do not fit in flash"):
        place_bios(b"\0" * 0x2001, "fw.bin", (0, 0x2000), RAM, 0x1000)
    layout = place_bios(b"\0" * 16, "fw.bin", (0, 0x8000000), RAM, 0x1000)
    assert (layout.entry, layout.dtb_addr) == (0, 0x40000000)


def test_overlapping_images_are_refused():
    a = Image("a", 0x40000000, [Segment(0x40000000, b"", 0x2000)])
    b = Image("b", 0x40001000, [Segment(0x40001000, b"", 0x10)])
    with pytest.raises(ImageError, match="b at 0x40001000-0x4000100f overlaps a at 0x40000000-0x40001fff"):
        check_disjoint([a, b])


def test_gzip_kernel_is_decompressed():
    kernel = arm64_image()
    assert gunzip(gzip.compress(kernel), "k") == kernel
    with pytest.raises(ImageError, match="k: corrupt gzip data"):
        gunzip(b"\x1f\x8b" + b"\0" * 20, "k")


@pytest.mark.parametrize("el, conduit", [(2, "smc"), (1, "hvc")])
def test_synthesized_image_sees_the_fdt_in_x0(el, conduit):
    """The guest reads the FDT magic through x0 and finds x1-x3 zero."""
    from emu.board import load_board
    from emu.board.fdt import build_fdt
    from emu.machine import Console, Machine

    code = GUEST.replace("smc #0", f"{conduit} #0")
    data = arm64_image(code=code)
    blob = build_fdt(load_board(), start_el=el).blob
    layout = place_linux(data, "Image", RAM, None, "initrd", len(blob))
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), start_el=el)
    for image in layout.images:
        m.load(image)
    m.load(Image("dtb", layout.dtb_addr, [Segment(layout.dtb_addr, blob, len(blob), "r")]))
    m.boot_registers = layout.registers
    result = m.run(max_insns=10_000)
    assert m.console.text == "d00dfeed Z\n"
    assert result.exit_code == 0
