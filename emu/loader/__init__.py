"""Images the machine can load: ELF executables (via lief), raw binaries, packed systems.

``load_image`` picks the format by content: an ELF file is loaded by its program headers;
anything else is a raw binary and needs a load address.
"""

from __future__ import annotations

from pathlib import Path

from emu.errors import ImageError
from emu.loader.elf import load_elf
from emu.loader.image import Image, Segment, SymbolTable
from emu.loader.raw import check_fits, load_raw

__all__ = ["Image", "Segment", "SymbolTable", "load_elf", "load_raw", "load_image", "check_fits"]


def load_image(path: Path | str, addr: int | None = None, entry: int | None = None) -> Image:
    """Load ``path`` as ELF if it starts with the ELF magic, else as a raw binary at ``addr``."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError:
        magic = b""  # let the loaders report the precise problem
    if magic == b"\x7fELF" or addr is None and magic:
        if magic != b"\x7fELF":
            raise ImageError(f"{path}: not an ELF file; give a load address to load it as a raw binary")
        image = load_elf(path)
        if entry is not None:
            image.entry = entry
        return image
    if addr is None:
        return load_elf(path)  # reports missing/unreadable files in the ELF loader's words
    return load_raw(path, addr, entry)
