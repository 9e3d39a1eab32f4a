"""Fuzz board files through ``emu run --board``: the virt board, mutated as data and as text.

Each case parses ``emu/board/virt.toml`` and damages it one to three ways (:func:`mutate_tree`):
a value of the wrong type, a number on an edge (misaligned, negative, past 40 bits, an SGI or
PPI for an IRQ, a num_spis that is no multiple of 32), a key deleted or added, a window moved
onto another one (overlaps), a device duplicated, a value nested thousands deep; some cases
also corrupt the TOML text (truncation, bytes that are not UTF-8) or pass an odd ``--ram``.
``emu run`` of a tiny image with that board must then run or stop with ``emu:`` lines and a
non-zero exit: never a traceback, never a hang.

The tree mutator and the TOML writer are shared with fz_manifest.py.
"""

from __future__ import annotations

import copy
import datetime
import json
import random
import tomllib
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import harness

NAME = "board"
VIRT = harness.ROOT / "emu" / "board" / "virt.toml"
MAX_INSNS = 2000
WALL_LIMIT_S = 20.0

PAGE = 0x1000
_ADDRS = [0, PAGE, PAGE - 1, 0x800, 0x08000000, 0x08010000, 0x08030000, 0x09000000, 0x3FFFF000, 0x40000000,
          0x40000800, 0x7FFFF000, 0x80000000, 0xFFFFF000, 1 << 32, (1 << 40) - PAGE, 1 << 40, 1 << 48, (1 << 63) - 1,
          1 << 64, -PAGE, -1]
_SIZES = [0, 1, PAGE - 1, PAGE, PAGE + 1, 0x2000, 0x1000000, 0x40000000, 0x40001000, 0x80000000, 8 << 30,
          (8 << 30) + PAGE, 1 << 40, 1 << 64, -PAGE]
#: Interesting values by key name, for boards and manifests alike.
EDGES: dict[str, list] = {
    "base": _ADDRS, "size": _SIZES, "gicd": _ADDRS, "gicc": _ADDRS, "gich": _ADDRS, "gicv": _ADDRS,
    "irq": [-1, 0, 15, 16, 25, 27, 31, 32, 33, 34, 95, 96, 287, 288, 1019, 1020, 1023, 5000, 1 << 64],
    "num_spis": [0, 1, 31, 32, 64, 100, 256, 960, 988, 992, 1024, -32, 1 << 40],
    "access": ["", "r", "rw", "rwx", "x", "xr", "rwxr", "R", "rwz", 7],
    "model": ["pl011", "pl012", "gicv2", "gicv3", "", "PL011"],
    "name": ["virt", "uart0", "uart1", "", "a b", "x" * 65, "hyp]x", "\u00e9", "a.b", "gic.gicd"],
    "cores": [0, 1, 2, 4, -1, 1 << 31],
    "cpu": ["cortex-a53", "cortex-a72", ""],
}
_OTHER_TYPES: list[Any] = ["33", "", 33.0, float("nan"), float("inf"), True, False, [], [1, "a"], {}, {"x": 1},
                          -1, 0, 1 << 63, 1 << 64, datetime.date(2026, 1, 1)]
_EXTRA_KEYS = ["colour", "irq", "base", "frames", "ram", "device", "tenant", "", "a.b", "\u00e9"]


class Deep(NamedTuple):
    """A value nested ``depth`` levels deep, written straight as text (the writer never recurses
    into it): ``[[[...1...]]]`` or ``{ a = { a = ... } }``."""

    kind: str
    depth: int


class Case(NamedTuple):
    kind: str    # "tree": data mutations; "text": and then the text; "ram": and an odd --ram
    seed: int


# ---------------------------------------------------------------------------------------------
# TOML as text

def _key(k: str) -> str:
    return k if k and all(c.isascii() and (c.isalnum() or c in "_-") for c in k) else _string(k)


def _string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(v: Any) -> str:
    if isinstance(v, Deep):
        if v.kind == "array":
            return "[" * v.depth + "1" + "]" * v.depth
        return "{ a = " * v.depth + "1" + " }" * v.depth
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if v != v else "inf" if v == float("inf") else "-inf" if v == float("-inf") else repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def toml_text(data: dict) -> str:
    """A TOML document for ``data`` (every table inline, one top-level key per line)."""
    return "".join(f"{_key(k)} = {toml_value(v)}\n" for k, v in data.items())


# ---------------------------------------------------------------------------------------------
# Mutations

def _slots(node: Any, out: list) -> list:
    """Every (container, key) in a tree of dicts and lists, depth first."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        out.append((node, k))
        _slots(v, out)
    return out


def _fresh(value: Any) -> Any:
    """A copy of a pool value: the pools are shared by every case, and a mutation that later
    writes into a table or list taken from one would change it for the cases after it (until
    one of them nests without bound or holds itself)."""
    return copy.deepcopy(value)


def _name(container: Any, key: Any) -> str | None:
    return key if isinstance(key, str) else None


def mutate_tree(data: dict, rng: random.Random, edges: dict[str, list] = EDGES) -> dict:
    """``data`` (a parsed TOML document, modified in place) after one to three mutations."""
    for _ in range(rng.randint(1, 3)):
        slots = _slots(data, [])
        op = rng.choice(["edge", "edge", "edge", "retype", "delete", "extra", "deep", "dup", "swap"])
        if not slots:
            data[rng.choice(_EXTRA_KEYS)] = _fresh(rng.choice(_OTHER_TYPES))
            continue
        container, key = rng.choice(slots)
        if op == "edge":
            named = [(c, k) for c, k in slots if _name(c, k) in edges] or slots
            container, key = rng.choice(named)
            pool = edges.get(_name(container, key)) or _ADDRS
            container[key] = _fresh(rng.choice(pool))
        elif op == "retype":
            container[key] = _fresh(rng.choice(_OTHER_TYPES))
        elif op == "delete":
            del container[key]
        elif op == "extra":
            tables = [v for c, k in slots if isinstance(v := c[k], dict)] + [data]
            rng.choice(tables)[rng.choice(_EXTRA_KEYS)] = _fresh(rng.choice(_OTHER_TYPES))
        elif op == "deep":
            container[key] = Deep(rng.choice(["array", "table"]), rng.choice([2, 50, 400, 1000, 5000]))
        elif op == "dup":
            lists = [c[k] for c, k in slots if isinstance(c[k], list) and c[k]]
            if lists:
                target = rng.choice(lists)
                target.append(json.loads(json.dumps(rng.choice(target), default=str)))
        elif op == "swap":  # another slot's value: moves a window onto another one, and so on
            c2, k2 = rng.choice(slots)
            container[key] = c2[k2] if not isinstance(c2[k2], (dict, list)) else json.loads(json.dumps(c2[k2], default=str))
    return data


def mutate_text(text: str, rng: random.Random) -> bytes:
    raw = text.encode()
    op = rng.choice(["truncate", "bytes", "invalid-utf8", "duplicate"])
    if op == "truncate":
        return raw[:rng.randrange(len(raw) + 1)]
    if op == "bytes":
        out = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] = rng.choice(b"[]{}=\".,\n#\\ 0xz")
        return bytes(out)
    if op == "invalid-utf8":
        at = rng.randrange(len(raw) + 1)
        return raw[:at] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]) + raw[at:]
    line = rng.choice(text.splitlines(keepends=True) or [""])
    return (text + line).encode()  # a key defined twice


def cases(rng: random.Random, n: int) -> Iterable[Case]:
    for _ in range(n):
        yield Case(rng.choice(["tree"] * 6 + ["text", "ram"]), rng.getrandbits(32))


def board_bytes(case: Case) -> tuple[bytes, list[str]]:
    """The board file of ``case`` and extra command-line arguments."""
    rng = random.Random(case.seed)
    text = toml_text(mutate_tree(tomllib.loads(VIRT.read_text()), rng))
    if case.kind == "text":
        return mutate_text(text, rng), []
    if case.kind == "ram":
        ram = rng.choice([0, 1, PAGE - 1, PAGE, 0x1001, 0x10000000, 0x40000000, 0x40001000, 8 << 30,
                          (8 << 30) + PAGE, 1 << 40, 1 << 64])
        return text.encode(), ["--ram", str(ram)]
    return text.encode(), []


def _tiny_elf(tmp: Path) -> Path:
    """A one-instruction image at the virt RAM base: WFI, then whatever follows."""
    from emu.build.elf import elf_bytes
    from emu.loader.image import Image, Segment

    path = tmp / "wfi.elf"
    path.write_bytes(elf_bytes(Image("wfi", 0x40000000, [Segment(0x40000000, bytes.fromhex("7f2003d5"), 4, "rx")])))
    return path


def check(case: Case, tmp: Path) -> harness.Outcome:
    data, extra = board_bytes(case)
    board = tmp / "board.toml"
    board.write_bytes(data)
    proc = harness.call_cli(["run", str(_tiny_elf(tmp)), "--board", str(board), "--max-insns", str(MAX_INSNS), *extra])
    if proc.seconds > WALL_LIMIT_S:
        return harness.Outcome("hang", f"took {proc.seconds:.1f} s")
    return harness.classify(proc)
