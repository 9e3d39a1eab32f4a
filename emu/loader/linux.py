"""Booting a kernel or firmware as QEMU's arm_load_kernel places it (hw/arm/boot.c, QEMU 7.2).

Three ways in, as ``qemu-system-aarch64 -M virt`` has them:

- ``-kernel`` with an arm64 Linux Image (Documentation/arch/arm64/booting.rst): the header's
  magic "ARM\\x64" at 0x38, text_offset at 0x8 and image_size at 0x10 (little-endian). The
  Image goes at RAM base + text_offset (RAM base is 2 MiB aligned), moved up by 2 MiB when
  text_offset is below QEMU's 4 KiB boot stub; with image_size 0 (a pre-3.17 kernel, whose
  text_offset is not to be trusted) at RAM base + 0x80000, as a file without the magic also
  goes. A gzip file is decompressed first (at most 256 MiB, QEMU's limit). The initrd follows
  at max(RAM base + min(RAM / 2, 128 MiB), end of the kernel), page aligned; the device tree
  after the initrd, 2 MiB aligned (early arm64 kernels map the 2 MiB block around it).
  The core starts at the Image's first byte with x0 = the device tree, x1-x3 = 0: what
  QEMU's boot stub hands over, without the stub.
- ``-kernel`` with an ELF (or a raw binary at an address): no boot protocol; the device tree
  goes at RAM base when the image leaves room there, and nowhere otherwise.
- ``-bios``: raw bytes at the start of flash, the core starting at 0 at its reset EL; the
  device tree at RAM base, where U-Boot's qemu_arm64 looks for it.

Every placement that cannot be made is one :class:`ImageError` line.
"""

from __future__ import annotations

import os
import stat
import struct
import zlib
from dataclasses import dataclass

from ..errors import ImageError
from .image import Image, Segment

ARM64_MAGIC = b"ARM\x64"
ARM64_MAGIC_OFFSET = 0x38
ARM64_HEADER = struct.Struct("<QQ")     # text_offset at 0x8, image_size at 0x10
ARM64_HEADER_OFFSET = 0x8
KERNEL64_LOAD_OFFSET = 0x80000          # QEMU's KERNEL64_LOAD_ADDR: no usable header
BOOTLOADER_MAX_SIZE = 0x1000            # QEMU's boot stub at RAM base
SZ_2M = 2 << 20
PAGE = 0x1000
INITRD_MAX_OFFSET = 128 << 20
GUNZIP_MAX = 256 << 20                  # QEMU's LOAD_IMAGE_MAX_GUNZIP_BYTES


@dataclass(frozen=True)
class Arm64Header:
    text_offset: int
    image_size: int


@dataclass
class BootLayout:
    """What to place and how the core starts: images in RAM or flash, where the device tree
    goes (None: nowhere), and x0-x3 at the entry (None: left at reset)."""

    images: list[Image]
    entry: int
    dtb_addr: int | None
    initrd: tuple[int, int] | None = None              # [start, end)
    registers: tuple[int, int, int, int] | None = None


def arm64_header(data: bytes) -> Arm64Header | None:
    """The arm64 Image header of ``data``, or None when the magic is not there."""
    if len(data) < ARM64_MAGIC_OFFSET + 4 or data[ARM64_MAGIC_OFFSET:ARM64_MAGIC_OFFSET + 4] != ARM64_MAGIC:
        return None
    text_offset, image_size = ARM64_HEADER.unpack_from(data, ARM64_HEADER_OFFSET)
    return Arm64Header(text_offset, image_size)


READ_MAX = 8 << 30  # the most RAM a board may have: no image or initrd can be larger


def read_file(path: str, what: str) -> bytes:
    """A regular file's bytes. Anything else (a FIFO, /dev/zero, a terminal) could be endless
    or block, so it is refused before reading; so is a file larger than any RAM."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise ImageError(f"{what} {path}: {err.strerror or err}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > READ_MAX:
        os.close(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ImageError(f"{what} {path}: not a regular file")
        raise ImageError(f"{what} {path}: {st.st_size} bytes, larger than any RAM this board can have")
    with open(fd, "rb") as f:
        try:
            data = f.read(READ_MAX + 1)
        except OSError as err:
            raise ImageError(f"{what} {path}: {err.strerror or err}") from None
    if not data:
        raise ImageError(f"{what} {path}: empty file")
    return data


def gunzip(data: bytes, what: str) -> bytes:
    """``data`` decompressed when it is gzip (as QEMU's load_image_gzipped), else itself."""
    if data[:2] != b"\x1f\x8b":
        return data
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, GUNZIP_MAX)
    except zlib.error as err:
        raise ImageError(f"{what}: corrupt gzip data: {err}") from None
    if d.unconsumed_tail:
        raise ImageError(f"{what}: decompresses to more than {GUNZIP_MAX >> 20} MiB")
    return out


def linux_load_offset(data: bytes) -> int:
    """Where in RAM QEMU loads an arm64 kernel: see the module docstring."""
    header = arm64_header(data)
    if header is None or header.image_size == 0:
        return KERNEL64_LOAD_OFFSET
    if header.text_offset < BOOTLOADER_MAX_SIZE:
        return header.text_offset + SZ_2M
    return header.text_offset


def place_linux(kernel: bytes, name: str, ram: tuple[int, int], initrd: bytes | None, initrd_name: str,
                dtb_size: int) -> BootLayout:
    """An arm64 Linux kernel with its initrd and a device tree of ``dtb_size`` bytes in
    RAM ``ram`` = (base, size), as QEMU places them."""
    base, size = ram
    end = base + size
    header = arm64_header(kernel)
    offset = linux_load_offset(kernel)
    if offset >= size:
        raise ImageError(f"{name}: load offset {offset:#x} is past the end of RAM ({size >> 20} MiB)")
    entry = base + offset
    kernel_size = max(len(kernel), header.image_size if header else 0)
    if entry + kernel_size > end:
        raise ImageError(f"{name}: kernel of {kernel_size:#x} bytes at {entry:#x} does not fit in RAM "
                         f"{base:#x}-{end - 1:#x} (try a larger --ram)")
    images = [Image(name, entry, [Segment(entry, kernel, kernel_size, "rwx")])]
    initrd_start = _align(max(base + min(size // 2, INITRD_MAX_OFFSET), entry + kernel_size), PAGE)
    initrd_range = None
    after = initrd_start
    if initrd is not None:
        initrd_range = (initrd_start, initrd_start + len(initrd))
        if initrd_range[1] > end:
            raise ImageError(f"{initrd_name}: initrd of {len(initrd):#x} bytes at {initrd_start:#x} does not fit "
                             f"in RAM {base:#x}-{end - 1:#x} (try a larger --ram)")
        images.append(Image(initrd_name, initrd_start, [Segment(initrd_start, initrd, len(initrd), "rw")]))
        after = initrd_range[1]
    dtb_addr = _align(after, SZ_2M)
    if dtb_addr + dtb_size > end:
        raise ImageError(f"no room for the device tree ({dtb_size:#x} bytes at {dtb_addr:#x}) after the kernel "
                         f"and initrd in RAM {base:#x}-{end - 1:#x} (try a larger --ram)")
    return BootLayout(images, entry, dtb_addr, initrd_range, registers=(dtb_addr, 0, 0, 0))


def place_executable(image: Image, ram: tuple[int, int], dtb_size: int) -> BootLayout:
    """An ELF or raw ``-kernel``: the device tree at RAM base if the image leaves room below
    its lowest address there (or lies wholly outside RAM from that base up), else nowhere."""
    base, size = ram
    loaded = [s for s in image.segments if s.memsz]
    low = min(s.addr for s in loaded)
    high = max(s.end for s in loaded)
    dtb_addr = None
    if low > base or high <= base:
        limit = low if base < low else base + size
        if base + dtb_size <= min(limit, base + size):
            dtb_addr = base
    return BootLayout([image], image.entry, dtb_addr)


def place_bios(data: bytes, name: str, flash: tuple[int, int], ram: tuple[int, int], dtb_size: int) -> BootLayout:
    """Firmware in flash from its first byte, the device tree at RAM base."""
    fbase, fsize = flash
    if len(data) > fsize:
        raise ImageError(f"{name}: {len(data):#x} bytes do not fit in flash {fbase:#x}-{fbase + fsize - 1:#x} "
                         f"({fsize >> 20} MiB)")
    base, size = ram
    if dtb_size > size:
        raise ImageError(f"no room for the device tree ({dtb_size:#x} bytes) in RAM of {size:#x} bytes")
    return BootLayout([Image(name, fbase, [Segment(fbase, data, len(data), "rx")])], fbase, base)


def check_disjoint(images: list[Image]) -> None:
    """No two images overlap (each image's own segments are checked when it is loaded)."""
    spans = sorted((s.addr, s.end, img.name) for img in images for s in img.segments if s.memsz)
    for (a, a_end, a_name), (b, b_end, b_name) in zip(spans, spans[1:]):
        if b < a_end:
            raise ImageError(f"{b_name} at {b:#x}-{b_end - 1:#x} overlaps {a_name} at {a:#x}-{a_end - 1:#x}")


def _align(value: int, to: int) -> int:
    return (value + to - 1) // to * to
