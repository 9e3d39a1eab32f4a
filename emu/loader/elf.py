"""ELF loader: an AArch64 ELF64 executable -> :class:`Image`, read with lief.

What the machine needs from an ELF is what a boot loader takes from it (ELF gABI, "Program
Loading"): every ``PT_LOAD`` placed at its ``p_paddr`` with ``p_filesz`` bytes from the file
and zeros up to ``p_memsz``, and the entry point. As QEMU's ELF loader does, the entry is
moved by ``p_paddr - p_vaddr`` when it lies in an executable segment whose two addresses
differ. Symbols come from ``.symtab``: function, object and untyped symbols with a non-zero
value, at their link-time (virtual) addresses; Arm mapping symbols (``$x``, ``$d``) are
skipped, and so are names that are not printable text (a corrupt ``.strtab``: lief hands such
names over as bytes), since symbols only name addresses in traces and diagnostics.

Every way the file can be unusable is an :class:`ImageError` naming the file: missing or
unreadable, not ELF, 32-bit or big-endian, another machine, corrupt or truncated (the
headers or a segment's file bytes run past the end of the file), or nothing to load.
"""

from __future__ import annotations

import struct
from pathlib import Path

from emu.errors import ImageError
from emu.loader.image import Image, Segment

EM_AARCH64 = 183
PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4
STT_NOTYPE, STT_OBJECT, STT_FUNC = 0, 1, 2
_EHDR_SIZE = 64
_PHDR = struct.Struct("<IIQQQQQQ")

# A few e_machine values (ELF gABI) so that the error names what the file is for.
_MACHINES = {
    0: "no machine", 3: "x86 (i386)", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 40: "Arm (AArch32)",
    62: "x86-64", 183: "AArch64", 243: "RISC-V",
}
# Magic numbers of formats people mistake for ELF images.
_FOREIGN = [
    (b"MZ", "a PE/COFF (Windows or EFI) executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xd0\x0d\xfe\xed", "a device tree blob"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"#!", "a script"),
]


def _read(path: Path) -> bytes:
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if not path.is_file():
        raise ImageError(f"{path}: not a regular file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _check_header(path: Path, data: bytes) -> None:
    if data[:4] != b"\x7fELF":
        for magic, what in _FOREIGN:
            if data.startswith(magic):
                raise ImageError(f"{path}: not an ELF file ({what})")
        if not data:
            raise ImageError(f"{path}: empty file, not an ELF image")
        raise ImageError(f"{path}: not an ELF file (bad magic {data[:4].hex()})")
    if len(data) < _EHDR_SIZE:
        raise ImageError(f"{path}: truncated ELF header ({len(data)} bytes)")
    if data[4] == 1:
        raise ImageError(f"{path}: 32-bit ELF (ELFCLASS32); expected a 64-bit AArch64 image")
    if data[4] != 2:
        raise ImageError(f"{path}: corrupt ELF header (EI_CLASS {data[4]})")
    if data[5] == 2:
        raise ImageError(f"{path}: big-endian ELF (ELFDATA2MSB); expected little-endian AArch64")
    if data[5] != 1:
        raise ImageError(f"{path}: corrupt ELF header (EI_DATA {data[5]})")
    machine = struct.unpack_from("<H", data, 18)[0]
    if machine != EM_AARCH64:
        name = _MACHINES.get(machine, "unknown machine")
        raise ImageError(f"{path}: ELF for {name} (e_machine {machine}); expected AArch64 (e_machine {EM_AARCH64})")
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    if phnum and phentsize != _PHDR.size:
        raise ImageError(f"{path}: corrupt ELF header (e_phentsize {phentsize})")
    if phoff + phnum * _PHDR.size > len(data):
        raise ImageError(f"{path}: truncated: program headers end at {phoff + phnum * _PHDR.size:#x}, "
                         f"file has {len(data):#x} bytes")


def _program_headers(data: bytes) -> list[tuple[int, ...]]:
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    return [_PHDR.unpack_from(data, phoff + i * _PHDR.size) for i in range(phnum)]


def _flags(p_flags: int) -> str:
    return "".join(c for bit, c in ((PF_R, "r"), (PF_W, "w"), (PF_X, "x")) if p_flags & bit)


def _usable_name(name: object) -> bool:
    """A symbol name worth keeping: printable text, not an Arm mapping symbol."""
    return isinstance(name, str) and name.isprintable() and bool(name) and not name.startswith("$")


def load_elf(path: Path | str) -> Image:
    """Load an AArch64 ELF64 little-endian executable; segments at their physical addresses."""
    import lief

    path = Path(path)
    data = _read(path)
    _check_header(path, data)

    lief.logging.disable()  # lief would print its own warnings about odd files to stderr
    try:
        binary = lief.ELF.parse(str(path))
    except Exception as exc:  # lief raises assorted errors on hostile input
        raise ImageError(f"{path}: corrupt ELF ({exc})") from None
    if binary is None:
        raise ImageError(f"{path}: corrupt ELF (lief cannot parse it)")

    # Segments from the program headers as read here: their bytes are exactly the file's.
    segments: list[Segment] = []
    entry = binary.header.entrypoint
    for p_type, p_flags, offset, vaddr, paddr, filesz, memsz, _align in _program_headers(data):
        if p_type != PT_LOAD:
            continue
        if filesz > memsz:
            raise ImageError(f"{path}: corrupt segment at {paddr:#x}: p_filesz {filesz:#x} > p_memsz {memsz:#x}")
        if offset + filesz > len(data):
            raise ImageError(f"{path}: truncated: segment at {paddr:#x} needs file bytes "
                             f"{offset:#x}-{offset + filesz:#x}, file has {len(data):#x} bytes")
        if memsz == 0:
            continue
        segments.append(Segment(addr=paddr, data=data[offset:offset + filesz], memsz=memsz, flags=_flags(p_flags)))
        if paddr != vaddr and p_flags & PF_X and vaddr <= entry < vaddr + filesz:
            entry = entry - vaddr + paddr
    if not segments:
        raise ImageError(f"{path}: no loadable (PT_LOAD) segments")

    symbols: dict[str, int] = {}
    for sym in binary.symtab_symbols:
        name = sym.name
        # The type from st_info itself: lief's enum warns on values it does not know.
        if not _usable_name(name) or sym.value == 0 or sym.information & 0xF not in (STT_NOTYPE, STT_OBJECT, STT_FUNC):
            continue
        symbols.setdefault(name, sym.value)
    return Image(name=path.stem, entry=entry, segments=segments, symbols=symbols)
