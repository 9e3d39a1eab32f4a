"""Raw images and the checks every image passes before it is placed in RAM."""

from __future__ import annotations

from pathlib import Path

from emu.errors import ImageError
from emu.loader.image import Image, Segment


def load_raw(path: Path | str, addr: int, entry: int | None = None) -> Image:
    """A flat binary placed at ``addr``; execution starts at ``entry`` (default ``addr``)."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: {'no such file' if not path.exists() else 'not a regular file'}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not data:
        raise ImageError(f"{path}: empty file")
    if addr < 0:
        raise ImageError(f"{path}: negative load address {addr:#x}")
    return Image(name=path.stem, entry=addr if entry is None else entry,
                 segments=[Segment(addr=addr, data=data, memsz=len(data), flags="rwx")])


def check_fits(image: Image, ram_base: int, ram_size: int) -> None:
    """Check that ``image`` can be placed in RAM ``[ram_base, ram_base + ram_size)``; see
    :func:`check_placement`."""
    check_placement(image, {"RAM": (ram_base, ram_size)})


def check_placement(image: Image, regions: dict[str, tuple[int, int]]) -> None:
    """Check that ``image`` can be placed in the board's memory: ``regions`` maps a name (RAM,
    flash) to its (base, size), as QEMU loads an ELF segment into whichever RAM or ROM holds it.

    Every segment must lie inside one region, no two segments may overlap, and the entry point
    must be inside a loaded segment; otherwise :class:`ImageError` with one line that names the
    image and the addresses.
    """
    segments = sorted((s for s in image.segments if s.memsz > 0), key=lambda s: s.addr)
    for seg in segments:
        if not any(base <= seg.addr and seg.end <= base + size for base, size in regions.values()):
            where = " and ".join(f"{name} {base:#x}-{base + size - 1:#x}" for name, (base, size) in regions.items())
            raise ImageError(f"{image.name}: segment {seg.addr:#x}-{seg.end - 1:#x} lies outside {where}")
    for a, b in zip(segments, segments[1:]):
        if b.addr < a.end:
            raise ImageError(f"{image.name}: segments {a.addr:#x}-{a.end - 1:#x} and "
                             f"{b.addr:#x}-{b.end - 1:#x} overlap")
    if not image.contains(image.entry):
        raise ImageError(f"{image.name}: entry point {image.entry:#x} is outside the loaded segments")
