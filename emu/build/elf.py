"""ELF writer: an :class:`Image` -> an ELF64 little-endian AArch64 executable (ET_EXEC).

The file is what ``qemu-system-aarch64 -kernel``, ``objdump -d``, ``readelf`` and gdb expect
of a bare-metal image (ELF specification, "System V ABI" gABI; AArch64 ELF ABI, Arm IHI 0056):

* one ``PT_LOAD`` per segment, sorted by address, ``p_paddr == p_vaddr ==`` the segment's
  address, ``p_filesz``/``p_memsz`` from the segment (the difference is zero-filled),
  ``p_flags`` from ``Segment.flags``, ``p_offset`` congruent to the address modulo
  ``p_align`` (4 KiB);
* one section per segment for its file bytes (``.text``, ``.data`` or ``.rodata`` by the
  segment's flags, numbered when repeated: ``.text.1``) and a ``SHT_NOBITS`` ``.bss`` for
  its zero-filled tail, so tools see which section an address is in;
* ``.symtab``/``.strtab`` with every symbol of the image as a global symbol: ``STT_FUNC``,
  ``STT_OBJECT`` or ``STT_NOTYPE`` from the image's ``symbol_types`` if it has them
  (:class:`emu.build.asm.AsmImage`, :class:`emu.build.manifest.SystemImage`), else
  ``STT_FUNC`` for symbols in executable segments; sizes run to the next symbol;
* ``.shstrtab``; no timestamps or paths, so the same image always gives the same bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from emu.errors import EmuError
from emu.loader.image import Image, Segment

EM_AARCH64 = 183
ET_EXEC = 2
PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4
SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_NOBITS = 1, 2, 3, 8
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
STB_GLOBAL = 1
STT_NOTYPE, STT_OBJECT, STT_FUNC = 0, 1, 2
SHN_ABS = 0xFFF1

SEGMENT_ALIGN = 0x1000

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")

_TYPE_CODES = {"func": STT_FUNC, "object": STT_OBJECT, "notype": STT_NOTYPE}


@dataclass
class _Section:
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int = 0
    info: int = 0
    align: int = 1
    entsize: int = 0


class _StringTable:
    """An ELF string table: offset 0 is the empty string; equal strings are stored once."""

    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self._offsets: dict[str, int] = {"": 0}

    def add(self, text: str) -> int:
        if text not in self._offsets:
            self._offsets[text] = len(self.data)
            self.data += text.encode("utf-8") + b"\0"
        return self._offsets[text]


def _pf_flags(flags: str) -> int:
    return (PF_R if "r" in flags else 0) | (PF_W if "w" in flags else 0) | (PF_X if "x" in flags else 0)


def _natural_align(addr: int) -> int:
    for align in (16, 8, 4, 2):
        if addr % align == 0:
            return align
    return 1


def _pad_to(buf: bytearray, align: int) -> None:
    buf += b"\0" * (-len(buf) % align)


def _section_name(seg: Segment, used: dict[str, int]) -> str:
    base = ".text" if "x" in seg.flags else ".data" if "w" in seg.flags else ".rodata"
    return _numbered(base, used)


def _numbered(base: str, used: dict[str, int]) -> str:
    n = used.get(base, 0)
    used[base] = n + 1
    return base if n == 0 else f"{base}.{n}"


def _symbol_type(image: Image, name: str, value: int, segments: list[Segment]) -> int:
    declared = getattr(image, "symbol_types", None) or {}
    if name in declared:
        return _TYPE_CODES.get(declared[name], STT_NOTYPE)
    in_code = any(s.addr <= value < s.end and "x" in s.flags for s in segments)
    return STT_FUNC if in_code and value % 4 == 0 else STT_NOTYPE


def elf_bytes(image: Image) -> bytes:
    """The ELF file for ``image``, as bytes (see the module docstring for its layout)."""
    segments = sorted(image.segments, key=lambda s: s.addr)
    for a, b in zip(segments, segments[1:]):
        if b.addr < a.end:
            raise EmuError(f"{image.name}: segments {a.addr:#x}-{a.end - 1:#x} and "
                           f"{b.addr:#x}-{b.end - 1:#x} overlap")
    for seg in segments:
        if len(seg.data) > seg.memsz:
            raise EmuError(f"{image.name}: segment at {seg.addr:#x} has more data than its size")

    out = bytearray(_EHDR.size + _PHDR.size * len(segments))
    phdrs = []
    sections: list[_Section] = [_Section("", 0, 0, 0, 0, 0)]
    used: dict[str, int] = {}
    for seg in segments:
        # p_offset must equal p_vaddr modulo p_align for loaders that map pages.
        out += b"\0" * ((seg.addr - len(out)) % SEGMENT_ALIGN)
        offset = len(out)
        out += seg.data
        phdrs.append(_PHDR.pack(PT_LOAD, _pf_flags(seg.flags), offset, seg.addr, seg.addr,
                                len(seg.data), seg.memsz, SEGMENT_ALIGN))
        shflags = SHF_ALLOC | (SHF_WRITE if "w" in seg.flags else 0) | (SHF_EXECINSTR if "x" in seg.flags else 0)
        if seg.data:
            sections.append(_Section(_section_name(seg, used), SHT_PROGBITS, shflags, seg.addr,
                                     offset, len(seg.data), align=_natural_align(seg.addr)))
        if seg.memsz > len(seg.data):
            bss = seg.addr + len(seg.data)
            sections.append(_Section(_numbered(".bss", used), SHT_NOBITS, shflags & ~SHF_EXECINSTR | SHF_WRITE,
                                     bss, offset + len(seg.data), seg.memsz - len(seg.data),
                                     align=_natural_align(bss)))
    out[_EHDR.size:_EHDR.size + _PHDR.size * len(phdrs)] = b"".join(phdrs)

    # Symbols: sorted by address then name so the output does not depend on dict order.
    strtab = _StringTable()
    alloc = [(i, s) for i, s in enumerate(sections) if s.flags & SHF_ALLOC]
    symbols = sorted(image.symbols.items(), key=lambda kv: (kv[1], kv[0]))
    symtab = bytearray(_SYM.size)  # entry 0: the undefined symbol
    for n, (name, value) in enumerate(symbols):
        shndx = SHN_ABS
        end = None
        for i, sec in alloc:
            if sec.addr <= value < sec.addr + sec.size or (value == sec.addr + sec.size and shndx == SHN_ABS):
                shndx, end = i, sec.addr + sec.size
        stype = _symbol_type(image, name, value, segments)
        size = 0
        if stype != STT_NOTYPE and end is not None:
            following = [v for _, v in symbols[n + 1:] if v > value]
            size = min([end] + following[:1]) - value
        symtab += _SYM.pack(strtab.add(name), (STB_GLOBAL << 4) | stype, 0, shndx, value, max(size, 0))

    _pad_to(out, 8)
    symtab_index = len(sections)
    sections.append(_Section(".symtab", SHT_SYMTAB, 0, 0, len(out), len(symtab),
                             link=symtab_index + 1, info=1, align=8, entsize=_SYM.size))
    out += symtab
    sections.append(_Section(".strtab", SHT_STRTAB, 0, 0, len(out), len(strtab.data)))
    out += strtab.data
    shstrtab = _StringTable()
    names = [shstrtab.add(s.name) for s in sections]
    names.append(shstrtab.add(".shstrtab"))
    sections.append(_Section(".shstrtab", SHT_STRTAB, 0, 0, len(out), len(shstrtab.data)))
    out += shstrtab.data

    _pad_to(out, 8)
    shoff = len(out)
    for sec, name in zip(sections, names):
        out += _SHDR.pack(name, sec.type, sec.flags, sec.addr, sec.offset, sec.size,
                          sec.link, sec.info, sec.align, sec.entsize)

    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # ELFCLASS64, ELFDATA2LSB, EV_CURRENT, SYSV
    out[:_EHDR.size] = _EHDR.pack(ident, ET_EXEC, EM_AARCH64, 1, image.entry, _EHDR.size, shoff, 0,
                                  _EHDR.size, _PHDR.size, len(phdrs), _SHDR.size, len(sections),
                                  len(sections) - 1)
    return bytes(out)


def write_elf(image: Image, path: Path | str) -> Path:
    """Write ``image`` as an ELF64 AArch64 executable to ``path``; returns the path.

    The file is replaced only if its bytes change, so its modification time says when the
    image last changed.
    """
    path = Path(path)
    data = elf_bytes(image)
    try:
        if path.is_file() and path.read_bytes() == data:
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        raise EmuError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return path
