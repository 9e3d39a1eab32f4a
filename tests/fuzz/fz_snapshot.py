"""Fuzz snapshot restore through ``emu run --restore``: real snapshots, mutated.

``setup`` takes snapshots of built images part-way through their runs (the single-tenant
system, an interrupt-driven system with live GIC and timer state, a bare-metal EL1 program,
four cores counting together, restored with ``--smp 4``).
Each case damages one of them one way (:data:`KINDS`):

- ``flip``: bits flipped anywhere, the checksum left as it was;
- ``flip_sealed``: bits flipped in the header text or the RAM chunks, then the checksum
  recomputed, so the damage reaches the parser, the validator or the guest;
- ``truncate``: the file cut at a boundary of each kind (in the magic, the header length,
  the header, between chunks, in a chunk header, in chunk data, in the trailer) or anywhere;
- ``type``: a value somewhere in the header swapped for one of another type;
- ``value``: an integer somewhere in the header set to an edge (-1, 2^64, 2^128, 10^5000...);
- ``shape``: a key deleted or added (attribute names among them), a list shortened or grown;
- ``deep``: a value replaced by a list or object nested up to 200000 deep;
- ``length``: the header length or a chunk length set to an edge (0, 2^32-1, past the end);
- ``chunk``: a chunk moved (unaligned, outside RAM, repeated, reordered), its data replaced
  (garbage, a zlib bomb), or the trailer's count changed;
- ``huge``: a sparse file larger than any snapshot of the RAM, or a header length over the
  limit;
- ``ram``: the untouched snapshot restored with another ``--ram``.

``emu run --restore FILE --max-insns 20000`` must then run (a mutation can leave a valid
snapshot, and the guest may fault or hit the limit) or stop with ``emu:`` lines and a non-zero
exit; a traceback, a crash, a run past the wall-clock guard, or guest output from a snapshot
that was refused is a finding. Each case runs in its own process: an accepted snapshot runs
Unicorn on attacker-chosen registers, and a crash there must be counted, not take the fuzzer
down.

A case is ``(source, kind, seed)``; the mutation is drawn from ``seed`` when the case runs.
"""

from __future__ import annotations

import io
import json
import random
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

import harness

NAME = "snapshot"
LONG_CASES = 1000
KINDS = ("flip", "flip_sealed", "truncate", "type", "value", "shape", "deep", "length", "chunk", "huge", "ram")
MAX_INSNS = 20000
WALL_LIMIT_S = 60.0   # a guard against a hang, far above the ~0.3 s a case takes
# Where each source is snapshotted: image, instructions before the snapshot, start EL, cores.
SOURCES = {"solo": ("solo", 5000, 2, 1), "solo_late": ("solo", 60000, 2, 1), "irq": ("irq", 400000, 2, 1),
           "el1": ("rtos_demo_a", 200000, 1, 1), "smp": ("smp_psci_cores", 150000, 2, 4)}

_snaps: dict[str, bytes] = {}

_OTHER_TYPES: list[Any] = [None, True, False, "", "x", "0x40000000", 1.5, -0.0, float("inf"), [], [1], [[]], {},
                           {"a": 1}, 0, -1, 1 << 64]
_EDGE_INTS = [0, 1, -1, -(1 << 63), (1 << 31), (1 << 32) - 1, 1 << 32, (1 << 63) - 1, 1 << 63, (1 << 64) - 1, 1 << 64,
              (1 << 128) - 1, 1 << 128, 1 << 400, 1 << 56]
_ATTR_NAMES = ["uc", "reg_read", "__class__", "__dict__", "_irq_line", "on_interrupt", "pause", "", "é", "a" * 5000]
_BIG_NUMBER = "BIGNUMBER"  # replaced, after dumping, by an integer of 5000 digits


class Case(NamedTuple):
    source: str
    kind: str
    seed: int


def setup(built: Mapping[str, Path]) -> None:
    """Take the snapshots from images already built (pytest's ``built``, scripts/fuzz.py)."""
    from emu import snapshot
    from emu.loader.elf import load_elf
    from emu.machine import Console, Machine

    with tempfile.TemporaryDirectory() as d:
        for name, (image, insns, el, cores) in SOURCES.items():
            if image not in built:
                continue
            m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), start_el=el, cores=cores)
            m.load(load_elf(str(built[image])))
            m.run(max_insns=insns, pause_at_limit=True)
            path = Path(d) / f"{name}.snap"
            snapshot.save(m, str(path))
            _snaps[name] = path.read_bytes()


def _source(name: str) -> bytes:
    if not _snaps:
        from emu.build.pipeline import build

        with tempfile.TemporaryDirectory() as out:
            setup(build(harness.ROOT, out, sorted({source[0] for source in SOURCES.values()})))
    return _snaps.get(name) or _snaps["solo"]


def cases(rng: random.Random, n: int) -> Iterable[Case]:
    for _ in range(n):
        yield Case(rng.choice(list(SOURCES)), rng.choice(KINDS), rng.getrandbits(32))


# -- the file's parts ---------------------------------------------------------------------

class Parts(NamedTuple):
    header: bytes
    chunks: list[tuple[int, bytes]]    # (address, compressed data)
    count: int


def split(data: bytes) -> Parts:
    (n,) = struct.unpack_from("<I", data, 8)
    header, pos, chunks = data[12:12 + n], 12 + n, []
    while pos < len(data) - 20:
        addr, length = struct.unpack_from("<QI", data, pos)
        chunks.append((addr, data[pos + 12:pos + 12 + length]))
        pos += 12 + length
    return Parts(header, chunks, len(chunks))


def join(p: Parts, *, seal: bool = True, count: int | None = None, header_len: int | None = None) -> bytes:
    body = b"EMUSNAP1" + struct.pack("<I", len(p.header) if header_len is None else header_len) + p.header
    body += b"".join(struct.pack("<QI", a, len(z)) + z for a, z in p.chunks)
    crc = zlib.crc32(body) if seal else 0
    return body + struct.pack("<8sQI", b"EMUSEND\0", p.count if count is None else count, crc)


def boundaries(data: bytes) -> dict[str, list[int]]:
    """Offsets to cut at, by the kind of boundary they are."""
    (n,) = struct.unpack_from("<I", data, 8)
    out = {"magic": [0, 1, 4, 7], "length": [8, 9, 11], "header": [12, 12 + n // 2, 12 + n - 1],
           "between chunks": [], "chunk header": [], "chunk data": [], "trailer": []}
    pos = 12 + n
    while pos < len(data) - 20:
        (length,) = struct.unpack_from("<I", data, pos + 8)
        out["between chunks"].append(pos)
        out["chunk header"] += [pos + 1, pos + 8, pos + 11]
        out["chunk data"] += [pos + 12, pos + 12 + length // 2, pos + 12 + length - 1]
        pos += 12 + length
    out["between chunks"].append(pos)
    out["trailer"] = [len(data) - 20, len(data) - 12, len(data) - 4, len(data) - 1]
    return out


# -- header mutations ---------------------------------------------------------------------

def _pick(tree: Any, rng: random.Random) -> tuple[Any, Any]:
    """A (container, key) somewhere in the tree: walk down, stopping at random."""
    node, parent, key = tree, None, None
    while isinstance(node, (dict, list)) and node and (parent is None or rng.random() < 0.75):
        parent = node
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        node = node[key]
    if parent is None:
        key = rng.choice(list(tree))
        parent = tree
    return parent, key


def _pick_int(tree: Any, rng: random.Random) -> tuple[Any, Any] | None:
    ints = []

    def walk(node: Any, depth: int) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            if isinstance(v, int) and not isinstance(v, bool):
                ints.append((node, k))
            elif depth < 8:
                walk(v, depth + 1)

    walk(tree, 0)
    return rng.choice(ints) if ints else None


def _dump(tree: Any, rng: random.Random) -> bytes:
    text = json.dumps(tree)
    return text.replace(f'"{_BIG_NUMBER}"', rng.choice(["9" * 5000, "-" + "1" * 5000, "1" + "0" * 4299])).encode()


def _deep(rng: random.Random) -> str:
    depth = rng.choice([10, 100, 990, 1000, 5000, 200000])
    if rng.random() < 0.5:
        return "[" * depth + "1" + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


def mutate_header(header: bytes, kind: str, rng: random.Random) -> bytes:
    tree = json.loads(header)
    if kind == "deep":
        parent, key = _pick(tree, rng)
        marker = "DEEPVALUE"
        parent[key] = marker
        return json.dumps(tree).replace(f'"{marker}"', _deep(rng)).encode()
    for _ in range(rng.randint(1, 3)):
        if kind == "type":
            parent, key = _pick(tree, rng)
            parent[key] = rng.choice(_OTHER_TYPES + [_BIG_NUMBER])
        elif kind == "value":
            hit = _pick_int(tree, rng)
            if hit is not None:
                parent, key = hit
                parent[key] = rng.choice(_EDGE_INTS + [_BIG_NUMBER, parent[key] + 1, parent[key] - 1,
                                                      rng.getrandbits(64)])
        elif kind == "shape":
            parent, key = _pick(tree, rng)
            target = parent[key] if isinstance(parent[key], (dict, list)) and rng.random() < 0.5 else parent
            if isinstance(target, dict):
                if target and rng.random() < 0.5:
                    del target[rng.choice(list(target))]
                else:
                    target[rng.choice(_ATTR_NAMES)] = rng.choice([0, 1, True, "x", None, {}])
            elif target:
                if rng.random() < 0.5:
                    target.pop(rng.randrange(len(target)))
                else:
                    target.extend([target[0]] * rng.choice([1, 2, 1000]))
            else:
                target.extend([0] * rng.choice([1, 16, 17, 5000]))
    return _dump(tree, rng)


# -- binary mutations ---------------------------------------------------------------------

def _chunk_mutation(p: Parts, rng: random.Random) -> bytes:
    chunks = list(p.chunks)
    what = rng.choice(["address", "repeat", "reorder", "garbage", "bomb", "short", "count", "empty"])
    i = rng.randrange(len(chunks))
    addr, z = chunks[i]
    count = None
    if what == "address":
        chunks[i] = (rng.choice([addr + 1, addr + 0x8000, 0, 0x3FFF0000, 0x40000000 + (1 << 30), (1 << 64) - 0x10000,
                                 addr - 0x10000, rng.getrandbits(64)]), z)
    elif what == "repeat":
        chunks.insert(i, chunks[i])
    elif what == "reorder" and len(chunks) > 1:
        chunks.reverse()
    elif what == "garbage":
        chunks[i] = (addr, bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 10, len(z)]))))
    elif what == "bomb":
        chunks[i] = (addr, zlib.compress(bytes(rng.choice([1 << 17, 1 << 22])), 9))
    elif what == "short":
        chunks[i] = (addr, zlib.compress(bytes(rng.choice([0, 1, 4096, 65535]))))
    elif what == "count":
        count = rng.choice([0, len(chunks) - 1, len(chunks) + 1, (1 << 64) - 1])
    else:
        chunks = []
    return join(Parts(p.header, chunks, len(chunks)), count=count)


def mutate(data: bytes, kind: str, rng: random.Random) -> tuple[bytes, list[str]]:
    """The damaged file and any extra arguments for ``emu run``."""
    p = split(data)
    if kind == "flip":
        out = bytearray(data)
        for _ in range(rng.randint(1, 16)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        return bytes(out), []
    if kind == "flip_sealed":
        if rng.random() < 0.3:
            header = bytearray(p.header)
            for _ in range(rng.randint(1, 4)):
                header[rng.randrange(len(header))] ^= 1 << rng.randrange(8)
            return join(p._replace(header=bytes(header))), []
        # Damage the RAM itself: inflate a chunk, flip bits, deflate it again.
        chunks = list(p.chunks)
        i = rng.randrange(len(chunks))
        ram = bytearray(zlib.decompress(chunks[i][1]))
        for _ in range(rng.randint(1, 64)):
            ram[rng.randrange(len(ram))] ^= 1 << rng.randrange(8)
        chunks[i] = (chunks[i][0], zlib.compress(bytes(ram), 1))
        return join(p._replace(chunks=chunks)), []
    if kind == "truncate":
        where = boundaries(data)
        cut = rng.choice(where[rng.choice(list(where))] or [len(data) - 1]) if rng.random() < 0.8 else rng.randrange(len(data))
        return data[:cut], []
    if kind in ("type", "value", "shape", "deep"):
        return join(p._replace(header=mutate_header(p.header, kind, rng))), []
    if kind == "length":
        if rng.random() < 0.5:
            n = len(p.header)
            return join(p, header_len=rng.choice([0, 1, n - 1, n + 1, n + 12, (1 << 32) - 1, 16 << 20, (16 << 20) + 1])), []
        out = bytearray(join(p))
        pos = 12 + len(p.header) + sum(12 + len(z) for _, z in p.chunks[:rng.randrange(len(p.chunks))])
        struct.pack_into("<I", out, pos + 8, rng.choice([0, 1, 12, 65535, 65536 + 64, (1 << 32) - 1, len(out)]))
        body = bytes(out[:-20])
        return body + struct.pack("<8sQI", b"EMUSEND\0", p.count, zlib.crc32(body)), []
    if kind == "chunk":
        return _chunk_mutation(p, rng), []
    if kind == "huge":
        return b"HUGE", []
    if kind == "ram":
        return data, ["--ram", rng.choice(["512M", "2G", "1023M", "4K"])]
    raise ValueError(kind)


def check(case: Case, tmp: Path) -> harness.Outcome:
    rng = random.Random(case.seed)
    data, extra = mutate(_source(case.source), case.kind, rng)
    path = tmp / "m.snap"
    if data == b"HUGE":
        with open(path, "wb") as f:   # sparse: a size no snapshot of 1 GiB RAM can have
            f.write(_source(case.source)[:rng.choice([12, 4096])])
            f.truncate(rng.choice([(1 << 30) + (64 << 20), 1 << 40]))
    else:
        path.write_bytes(data)
    cores = SOURCES[case.source][3] if case.source in _snaps else 1
    smp = ["--smp", str(cores)] if cores > 1 else []
    proc = harness.run_cli(["run", "--restore", str(path), "--max-insns", str(MAX_INSNS), *smp, *extra],
                           timeout=WALL_LIMIT_S)
    out = harness.classify(proc)
    if out.kind == "clean" and proc.code == 2 and proc.stdout and "guest exited" not in proc.stderr:
        return harness.Outcome("leak", f"a refused snapshot printed guest output: {proc.stdout[:200]!r}")
    return out
