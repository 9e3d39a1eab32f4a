"""The ELF loader: what it takes from a good file, and one clear line for every bad one."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from emu.build.elf import elf_bytes
from emu.errors import ImageError
from emu.loader import load_image
from emu.loader.elf import load_elf
from emu.loader.image import Image, Segment

NOP = bytes.fromhex("1f2003d5")
PHOFF, PHSIZE = 64, 56


def good_image() -> Image:
    return Image("good", 0x40000004, [Segment(0x40000000, NOP * 4, 16, "rx"),
                                       Segment(0x40010000, b"\xaa" * 8, 0x1000, "rw")],
                 {"_start": 0x40000004, "data": 0x40010000, "$x": 0x40000000})


def write(tmp_path: Path, data: bytes, name: str = "image.elf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def patched(offset: int, fmt: str, value: int) -> bytes:
    data = bytearray(elf_bytes(good_image()))
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


def test_loads_segments_entry_and_symbols(tmp_path):
    img = load_elf(write(tmp_path, elf_bytes(good_image())))
    assert img.name == "image" and img.entry == 0x40000004
    assert img.segments == [Segment(0x40000000, NOP * 4, 16, "rx"), Segment(0x40010000, b"\xaa" * 8, 0x1000, "rw")]
    assert img.symbols == {"_start": 0x40000004, "data": 0x40010000}  # mapping symbol $x skipped


def test_physical_address_is_the_load_address(tmp_path):
    data = bytearray(elf_bytes(good_image()))
    # Link the code segment at virtual 0xffff000000000000, keep its physical address.
    struct.pack_into("<Q", data, PHOFF + 16, 0xFFFF000000000000)
    struct.pack_into("<Q", data, 24, 0xFFFF000000000004)  # e_entry is virtual
    img = load_elf(write(tmp_path, bytes(data)))
    assert img.segments[0].addr == 0x40000000
    assert img.entry == 0x40000004  # moved by paddr - vaddr, as QEMU does


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match=r"absent.elf: no such file$"):
        load_elf(tmp_path / "absent.elf")


def test_directory_is_not_an_image(tmp_path):
    with pytest.raises(ImageError, match="not a regular file"):
        load_elf(tmp_path)


@pytest.mark.parametrize("content,message", [
    (b"", "empty file"),
    (b"hello world\n", "not an ELF file"),
    (b"MZ\x90\x00" + bytes(60), r"not an ELF file \(a PE/COFF"),
    (b"\x7fELF\x02\x01", "truncated ELF header"),
])
def test_not_elf(tmp_path, content, message):
    with pytest.raises(ImageError, match=message):
        load_elf(write(tmp_path, content))


def test_x86_64_elf_is_foreign(tmp_path):
    path = write(tmp_path, patched(18, "<H", 62))  # e_machine = EM_X86_64
    with pytest.raises(ImageError, match=r"ELF for x86-64 \(e_machine 62\); expected AArch64 \(e_machine 183\)"):
        load_elf(path)


def test_host_binary_is_foreign(tmp_path):
    true = Path("/bin/true")
    if not true.is_file():
        pytest.skip("/bin/true not present")
    with pytest.raises(ImageError, match=r"/bin/true: ELF for .*expected AArch64"):
        load_elf(true)


def test_32_bit_elf(tmp_path):
    with pytest.raises(ImageError, match="32-bit ELF"):
        load_elf(write(tmp_path, patched(4, "B", 1)))


def test_big_endian_elf(tmp_path):
    with pytest.raises(ImageError, match="big-endian ELF"):
        load_elf(write(tmp_path, patched(5, "B", 2)))


def test_truncated_segment(tmp_path):
    data = elf_bytes(good_image())
    second_offset = struct.unpack_from("<Q", data, PHOFF + PHSIZE + 8)[0]
    with pytest.raises(ImageError, match=r"truncated: segment at 0x40010000 needs file bytes"):
        load_elf(write(tmp_path, data[:second_offset + 4]))


def test_truncated_program_headers(tmp_path):
    with pytest.raises(ImageError, match="truncated: program headers"):
        load_elf(write(tmp_path, elf_bytes(good_image())[:100]))


def test_filesz_larger_than_memsz_is_corrupt(tmp_path):
    with pytest.raises(ImageError, match="corrupt segment at 0x40000000"):
        load_elf(write(tmp_path, patched(PHOFF + 40, "<Q", 8)))  # p_memsz of the code segment


def test_no_loadable_segments(tmp_path):
    data = bytearray(elf_bytes(good_image()))
    struct.pack_into("<I", data, PHOFF, 4)          # PT_NOTE
    struct.pack_into("<I", data, PHOFF + PHSIZE, 4)
    with pytest.raises(ImageError, match=r"no loadable \(PT_LOAD\) segments"):
        load_elf(write(tmp_path, bytes(data)))


def test_garbage_after_the_header_is_an_image_error_and_lief_stays_quiet(tmp_path, capfd):
    data = bytearray(elf_bytes(good_image()))
    struct.pack_into("<QHH", data, 40, 0xFFFFFFFF, 64, 0xFFFF)  # e_shoff far away, e_shnum huge
    try:
        load_elf(write(tmp_path, bytes(data)))
    except ImageError:
        pass
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_load_image_picks_the_format(tmp_path):
    elf = write(tmp_path, elf_bytes(good_image()))
    assert load_image(elf).entry == 0x40000004
    raw = write(tmp_path, NOP * 2, "code.bin")
    assert load_image(raw, 0x40080000).segments == [Segment(0x40080000, NOP * 2, 8, "rwx")]
    with pytest.raises(ImageError, match="give a load address"):
        load_image(raw)


@pytest.mark.parametrize("byte", [0xFF, 0x07])
def test_corrupt_strtab_name_is_skipped_not_a_crash(tmp_path, byte):
    # Regression (fuzz): lief returns an undecodable name as bytes, and name.startswith("$")
    # raised TypeError. A corrupt name only loses that symbol; the image still loads.
    data = bytearray(elf_bytes(good_image()))
    at = data.find(b"\0data\0") + 2
    data[at] = byte
    img = load_elf(write(tmp_path, bytes(data)))
    assert img.symbols == {"_start": 0x40000004}
    assert img.segments == good_image().segments


def test_unknown_symbol_type_is_skipped_quietly(tmp_path, recwarn):
    # Regression (fuzz): lief's Symbol.type warned "9 is not a valid TYPE" on stderr.
    data = bytearray(elf_bytes(good_image()))
    shoff, shnum = struct.unpack_from("<Q", data, 40)[0], struct.unpack_from("<H", data, 60)[0]
    headers = [struct.unpack_from("<IIQQQQ", data, shoff + 64 * i) for i in range(shnum)]
    symtab_off, symtab_size = next((h[4], h[5]) for h in headers if h[1] == 2)  # SHT_SYMTAB
    for at in range(symtab_off, symtab_off + symtab_size, 24):
        data[at + 4] = (data[at + 4] & 0xF0) | 9  # st_info: type 9 (no such STT_)
    img = load_elf(write(tmp_path, bytes(data)))
    assert img.symbols == {} and len(recwarn) == 0
