"""Fuzz the ELF loader through ``emu run``: real built images, mutated.

Each case takes one image the pipeline builds (a packed system, the hypervisor, a tenant, a
probe, an EL1 program) and damages it one way: bit flips anywhere, truncation, an ELF header
field, a program header field, a section header field, bytes of ``.strtab``, or fields of
``.symtab`` entries, set to values that sit on the edges (0, 1, all ones, the file's length,
a huge power of two) or at random. ``emu run IMAGE --max-insns 20000`` must then either run
(a mutation can leave the image loadable, and the guest may then fault or hit the limit) or
stop with ``emu:`` lines and a non-zero exit; a traceback or a run past the wall-clock guard
is a finding.

A case is ``(source, kind, seed)``: the mutation is drawn from ``seed`` when the case runs,
so a failing case repeats from its repr alone.
"""

from __future__ import annotations

import random
import struct
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple

import harness

NAME = "elf"
SOURCES = ("demo", "hyp", "hello", "probe_hvc", "rtos_demo_a")
KINDS = ("flip", "truncate", "ehdr", "phdr", "shdr", "strtab", "symtab")
MAX_INSNS = 20000
WALL_LIMIT_S = 20.0  # a guard against a hang, far above the ~10 ms a case takes

# Elf64_Ehdr fields: (offset, struct format); Elf64_Phdr and Elf64_Shdr fields likewise.
EHDR_FIELDS = [(16, "<H"), (18, "<H"), (20, "<I"), (24, "<Q"), (32, "<Q"), (40, "<Q"), (48, "<I"),
               (52, "<H"), (54, "<H"), (56, "<H"), (58, "<H"), (60, "<H"), (62, "<H")]
PHDR_FIELDS = [(0, "<I"), (4, "<I"), (8, "<Q"), (16, "<Q"), (24, "<Q"), (32, "<Q"), (40, "<Q"), (48, "<Q")]
SHDR_FIELDS = [(0, "<I"), (4, "<I"), (8, "<Q"), (16, "<Q"), (24, "<Q"), (32, "<Q"), (40, "<I"),
               (44, "<I"), (48, "<Q"), (56, "<Q")]
SYM_FIELDS = [(0, "<I"), (4, "<B"), (5, "<B"), (6, "<H"), (8, "<Q"), (16, "<Q")]
SHT_SYMTAB = 2

_images: dict[str, bytes] = {}


class Case(NamedTuple):
    source: str
    kind: str
    seed: int


def use_built(paths: Mapping[str, Path]) -> None:
    """Take the source images from a build already made (pytest's ``built`` fixture)."""
    for name in SOURCES:
        _images[name] = Path(paths[name]).read_bytes()


def _source(name: str) -> bytes:
    if name not in _images:
        from emu.build.pipeline import build

        with tempfile.TemporaryDirectory() as out:
            use_built(build(harness.ROOT, out, list(SOURCES)))
    return _images[name]


def cases(rng: random.Random, n: int) -> Iterable[Case]:
    for _ in range(n):
        yield Case(rng.choice(SOURCES), rng.choice(KINDS), rng.getrandbits(32))


def _edge(rng: random.Random, fmt: str, length: int) -> int:
    """A value for a field of format ``fmt``: an edge case or a random one."""
    top = (1 << (8 * struct.calcsize(fmt))) - 1
    pick = rng.choice([0, 1, top, top >> 1, length, length - 1, length + 1, 1 << rng.randrange(8 * struct.calcsize(fmt)),
                       rng.randrange(top + 1), rng.randrange(min(top, 1 << 16) + 1)])
    return pick & top


def _sections(data: bytes) -> list[tuple[int, ...]]:
    """(sh_type, sh_offset, sh_size, sh_link, header offset) of each section header in bounds."""
    shoff, = struct.unpack_from("<Q", data, 40)
    shnum, = struct.unpack_from("<H", data, 60)
    out = []
    for i in range(shnum):
        at = shoff + i * 64
        if at + 64 > len(data):
            break
        _, sh_type, _, _, off, size, link = struct.unpack_from("<IIQQQQI", data, at)
        out.append((sh_type, off, size, link, at))
    return out


def _symtab(data: bytes) -> tuple[tuple[int, int], tuple[int, int]]:
    """((offset, size) of .symtab, (offset, size) of the string table it links to)."""
    secs = _sections(data)
    sym = next(s for s in secs if s[0] == SHT_SYMTAB)
    strtab = secs[sym[3]]
    return (sym[1], sym[2]), (strtab[1], strtab[2])


def _set(data: bytearray, at: int, fmt: str, value: int) -> None:
    if 0 <= at and at + struct.calcsize(fmt) <= len(data):
        struct.pack_into(fmt, data, at, value)


def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    """``data`` damaged by one kind of mutation, drawn from ``rng``."""
    out = bytearray(data)
    n = len(out)
    if kind == "flip":
        for _ in range(rng.randint(1, 32)):
            out[rng.randrange(n)] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        del out[rng.choice([rng.randrange(64), rng.randrange(n)]):]
    elif kind == "ehdr":
        for _ in range(rng.randint(1, 3)):
            at, fmt = rng.choice(EHDR_FIELDS)
            _set(out, at, fmt, _edge(rng, fmt, n))
    elif kind == "phdr":
        phoff, = struct.unpack_from("<Q", data, 32)
        phnum, = struct.unpack_from("<H", data, 56)
        for _ in range(rng.randint(1, 3)):
            at, fmt = rng.choice(PHDR_FIELDS)
            _set(out, phoff + 56 * rng.randrange(phnum) + at, fmt, _edge(rng, fmt, n))
    elif kind == "shdr":
        secs = _sections(data)
        for _ in range(rng.randint(1, 3)):
            at, fmt = rng.choice(SHDR_FIELDS)
            _set(out, rng.choice(secs)[4] + at, fmt, _edge(rng, fmt, n))
    elif kind == "strtab":
        _, (off, size) = _symtab(data)
        for _ in range(rng.randint(1, 16)):
            out[off + rng.randrange(size)] = rng.choice([0, 0xFF, 0x80, 0xC3, 0x1B, 0x07, rng.randrange(256)])
    elif kind == "symtab":
        (off, size), _ = _symtab(data)
        for _ in range(rng.randint(1, 8)):
            at, fmt = rng.choice(SYM_FIELDS)
            _set(out, off + 24 * rng.randrange(size // 24) + at, fmt, _edge(rng, fmt, n))
    else:
        raise ValueError(kind)
    return bytes(out)


def check(case: Case, tmp: Path) -> harness.Outcome:
    path = tmp / f"{case.source}.elf"
    path.write_bytes(mutate(_source(case.source), case.kind, random.Random(case.seed)))
    proc = harness.call_cli(["run", str(path), "--max-insns", str(MAX_INSNS)])
    if proc.seconds > WALL_LIMIT_S:
        return harness.Outcome("hang", f"took {proc.seconds:.1f} s")
    return harness.classify(proc)
