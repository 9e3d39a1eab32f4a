"""The ELF writer: what lief, binutils, our loader and QEMU read back from the file."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import lief
import pytest

from emu.build.asm import AsmImage, assemble
from emu.build.elf import elf_bytes, write_elf
from emu.errors import EmuError
from emu.loader.elf import load_elf
from emu.loader.image import Image, Segment
from emu.reference import run_qemu

READELF = shutil.which("aarch64-linux-gnu-readelf") or shutil.which("readelf")
OBJDUMP = shutil.which("aarch64-linux-gnu-objdump")
REPO = Path(__file__).resolve().parents[2]

NOP, RET = bytes.fromhex("1f2003d5"), bytes.fromhex("c0035fd6")


def two_segment_image() -> AsmImage:
    return AsmImage(
        name="two",
        entry=0x40200004,
        segments=[
            Segment(0x40400010, b"\x01\x02\x03\x04", 0x2000, "rw"),  # data with a zero-filled tail
            Segment(0x40200000, NOP * 2 + RET, 12, "rx"),
        ],
        symbols={"_start": 0x40200000, "main": 0x40200004, "done": 0x40200008, "table": 0x40400010,
                 "heap": 0x40400100, "abs_value": 0x1234},
        symbol_types={"_start": "func", "main": "func", "done": "func", "table": "object", "heap": "notype"},
    )


def test_header_and_program_headers_in_lief(tmp_path):
    path = write_elf(two_segment_image(), tmp_path / "two.elf")
    binary = lief.ELF.parse(str(path))
    h = binary.header
    assert h.machine_type == lief.ELF.ARCH.AARCH64
    assert h.identity_class == lief.ELF.Header.CLASS.ELF64
    assert h.identity_data == lief.ELF.Header.ELF_DATA.LSB
    assert h.file_type == lief.ELF.Header.FILE_TYPE.EXEC
    assert h.entrypoint == 0x40200004
    loads = [s for s in binary.segments if s.type == lief.ELF.Segment.TYPE.LOAD]
    assert [(s.virtual_address, s.physical_address, s.physical_size, s.virtual_size) for s in loads] == [
        (0x40200000, 0x40200000, 12, 12), (0x40400010, 0x40400010, 4, 0x2000)]
    assert loads[0].has(lief.ELF.Segment.FLAGS.X) and not loads[0].has(lief.ELF.Segment.FLAGS.W)
    assert loads[1].has(lief.ELF.Segment.FLAGS.W) and not loads[1].has(lief.ELF.Segment.FLAGS.X)
    for s in loads:  # loaders that map pages need offset == vaddr modulo the alignment
        assert s.file_offset % s.alignment == s.virtual_address % s.alignment
    assert [s.name for s in binary.sections][1:] == [".text", ".data", ".bss", ".symtab", ".strtab", ".shstrtab"]
    syms = {s.name: s for s in binary.symtab_symbols if s.name}
    assert syms["main"].type == lief.ELF.Symbol.TYPE.FUNC and syms["main"].size == 4
    assert syms["table"].type == lief.ELF.Symbol.TYPE.OBJECT
    assert syms["heap"].type == lief.ELF.Symbol.TYPE.NOTYPE
    assert syms["abs_value"].shndx == 0xFFF1  # SHN_ABS: outside every section


def test_round_trip_through_load_elf(tmp_path):
    image = two_segment_image()
    loaded = load_elf(write_elf(image, tmp_path / "two.elf"))
    assert loaded.entry == image.entry and loaded.name == "two"
    assert sorted(loaded.segments, key=lambda s: s.addr) == sorted(image.segments, key=lambda s: s.addr)
    assert loaded.symbols == image.symbols


def test_assembled_image_round_trips(tmp_path):
    src = tmp_path / "prog.s"
    src.write_text("_start: bl work\nhang: b hang\nwork: ret\n.balign 8\nvalue: .quad 7\n"
                   ".ltorg\n__bss_start:\nstack: .space 256\n")
    image = assemble(src, 0x40000000)
    loaded = load_elf(write_elf(image, tmp_path / "prog.elf"))
    assert loaded.segments == image.segments and loaded.symbols == image.symbols
    assert loaded.entry == 0x40000000 and loaded.segments[0].memsz == 0x118


def test_output_is_deterministic(tmp_path):
    a = write_elf(two_segment_image(), tmp_path / "a.elf").read_bytes()
    b = write_elf(two_segment_image(), tmp_path / "b.elf").read_bytes()
    assert a == b


def test_overlapping_segments_are_refused():
    image = Image("bad", 0x1000, [Segment(0x1000, b"", 0x100), Segment(0x10F0, b"", 0x10)])
    with pytest.raises(EmuError, match="overlap"):
        elf_bytes(image)


def test_plain_image_symbols_in_code_are_functions(tmp_path):
    image = Image("plain", 0x40000000, [Segment(0x40000000, NOP + RET, 8, "rwx")],
                  {"start": 0x40000000, "odd": 0x40000001})
    binary = lief.ELF.parse(str(write_elf(image, tmp_path / "plain.elf")))
    types = {s.name: s.type for s in binary.symtab_symbols if s.name}
    assert types == {"start": lief.ELF.Symbol.TYPE.FUNC, "odd": lief.ELF.Symbol.TYPE.NOTYPE}


@pytest.mark.skipif(READELF is None, reason="readelf (binutils-aarch64-linux-gnu) is not installed")
def test_readelf_reads_it_without_warnings(tmp_path):
    path = write_elf(two_segment_image(), tmp_path / "two.elf")
    full = subprocess.run([READELF, "-a", "-W", str(path)], capture_output=True, text=True)
    assert full.returncode == 0 and full.stderr == ""
    out = subprocess.run([READELF, "-h", "-l", "-s", "-W", str(path)], capture_output=True, text=True).stdout
    assert re.search(r"Machine:\s+AArch64", out)
    assert re.search(r"Type:\s+EXEC", out)
    assert re.search(r"Entry point address:\s+0x40200004", out)
    loads = re.findall(r"^\s*LOAD\s+(0x\w+)\s+(0x\w+)\s+(0x\w+)\s+(0x\w+)\s+(0x\w+)\s+(\w+ ?\w*)", out, re.M)
    assert [(int(v, 16), int(p, 16), int(fs, 16), int(ms, 16)) for _, v, p, fs, ms, _ in loads] == [
        (0x40200000, 0x40200000, 12, 12), (0x40400010, 0x40400010, 4, 0x2000)]
    rows = re.findall(r"^\s*\d+: ([0-9a-f]{16})\s+\d+\s+\w+\s+GLOBAL\s+\w+\s+\S+\s+(\S+)$", out, re.M)
    assert {name: int(value, 16) for value, name in rows} == two_segment_image().symbols


@pytest.mark.skipif(OBJDUMP is None, reason="aarch64-linux-gnu-objdump is not installed")
def test_objdump_disassembles_with_labels(tmp_path):
    path = write_elf(two_segment_image(), tmp_path / "two.elf")
    out = subprocess.run([OBJDUMP, "-d", str(path)], capture_output=True, text=True)
    assert out.returncode == 0 and out.stderr == ""
    assert "<main>:" in out.stdout and re.search(r"40200008:\s+d65f03c0\s+ret", out.stdout)


@pytest.mark.qemu
def test_qemu_boots_the_elf_and_returns_the_exit_code(qemu, tmp_path):
    src = tmp_path / "exit.s"
    src.write_text("""
.include "board.inc"
.include "smccc.inc"
_start:
    ldr     x1, =UART0_BASE
    mov     w0, #0x4b           // 'K'
    str     w0, [x1, #UARTDR]
    mov     x0, #SEMIHOST_SYS_EXIT
    adr     x1, block
    hlt     #0xf000
.balign 8
block: .quad ADP_Stopped_ApplicationExit, 5
""")
    path = write_elf(assemble(src, 0x40200000, [REPO / "firmware" / "include"]), tmp_path / "exit.elf")
    run = run_qemu(path)
    assert run.exit_code == 5 and b"K" in run.transcript
