"""Fuzz manifests through ``emu build``, the real entry point, and boot what it accepts.

Each case takes one of the shipped ``manifests/*.toml``, damages it with fz_board's tree
mutator (wrong types, edge numbers, keys deleted or added, tenants duplicated, values nested
thousands deep) using manifest edges (tenant names that could forge a console tag, PAs around
RAM, the hypervisor and 4 GiB, SPIs of the board's UART, SGIs and PPIs), sometimes corrupts
the text too, and runs ``emu build --root TREE fz`` on a copy of the source tree.

- The build must succeed or stop with ``emu:`` lines and a non-zero exit (else: traceback).
- What it accepts must be what the hypervisor accepts (else: leak): every tenant's name is
  a safe console tag, its RAM lies in the virt board's RAM below 4 GiB, it owns no SPI of a
  board device, and the packed system booted for MAX_INSNS instructions never prints the
  hypervisor's "bad manifest".
"""

from __future__ import annotations

import atexit
import random
import re
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Iterable, NamedTuple

import harness
from fz_board import EDGES as BOARD_EDGES
from fz_board import mutate_text, mutate_tree, toml_text

NAME = "manifest"
MANIFESTS = sorted((harness.ROOT / "manifests").glob("*.toml"))
MAX_INSNS = 20000
WALL_LIMIT_S = 60.0
SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,31}")
BAD_MANIFEST = b"hyp: bad manifest"

_MiB2 = 0x200000
EDGES = {
    **BOARD_EDGES,
    "name": ["hello", "counter", "a", "rtos_a-1.2", "x" * 31, "x" * 32, "", "hyp]x", "[hyp]", "a b", "a\nhyp: x",
             "a\x1b[2J", "caf\u00e9", "t\x00", "hyp"],
    "image": ["hello", "counter", "attacker_read", "irq_tick", "hyp", "probe_hvc", "nosuch", ""],
    "hypervisor": ["hyp", "hello", "probe_hvc", "nosuch", ""],
    "memory": [0, _MiB2, 2 * _MiB2, 3 * _MiB2 // 2, 0x1000000, 0x1200000, 1 << 32, -_MiB2, 1 << 64],
    "pa": [0, 0x3FE00000, 0x40000000, 0x40200000, 0x40400000, 0x40600000, 0x41000000, 0x41100000, 0x7FE00000,
           0x80000000, 0xFFE00000, 1 << 32, (1 << 64) - _MiB2, 1 << 64, -_MiB2],
    "irqs": [[], [33], [34], [32, 95], [96], [31], [27], [48, 48], [48] * 65, list(range(32, 96)), [-1], ["48"],
             [1 << 64]],
    "quantum_us": [0, 1, 2000, 10_000_000, 10_000_001, -1, 1 << 64],
}

_tree: Path | None = None


class Case(NamedTuple):
    source: str   # a shipped manifest's stem
    text: bool    # corrupt the text as well
    seed: int


def source_tree() -> Path:
    """A copy of the sources emu build needs, with an empty manifests/; removed at exit."""
    global _tree
    if _tree is None:
        root = Path(tempfile.mkdtemp(prefix="fz-manifest-"))
        atexit.register(shutil.rmtree, root, True)
        for d in ("firmware", "guest"):
            shutil.copytree(harness.ROOT / d, root / d)
        shutil.copy(harness.ROOT / "images.toml", root)
        (root / "manifests").mkdir()
        _tree = root
    return _tree


def cases(rng: random.Random, n: int) -> Iterable[Case]:
    for _ in range(n):
        yield Case(rng.choice(MANIFESTS).stem, rng.random() < 0.1, rng.getrandbits(32))


def manifest_bytes(case: Case) -> bytes:
    rng = random.Random(case.seed)
    data = tomllib.loads((harness.ROOT / "manifests" / f"{case.source}.toml").read_text())
    text = toml_text(mutate_tree(data, rng, EDGES))
    return mutate_text(text, rng) if case.text else text.encode()


def _accepted_breaks_isolation(elf: Path) -> str | None:
    """What is wrong with a system image the build accepted, or None."""
    from emu.board import load_board
    from emu.loader.placements import read_placements
    from emu.loader.elf import load_elf

    board = load_board("virt")
    device_spis = board.device_spis()
    for t in read_placements(load_elf(elf)):
        if not SAFE_NAME.fullmatch(t.name):
            return f"tenant name {t.name!r} can forge a console tag"
        if not (board.ram.base <= t.pa and t.pa + t.size <= min(board.ram.end, 1 << 32)):
            return f"tenant {t.name!r} RAM {t.pa:#x}+{t.size:#x} outside the board's RAM below 4 GiB"
        if set(t.irqs) & set(device_spis):
            return f"tenant {t.name!r} owns a board device's SPI: {sorted(set(t.irqs) & set(device_spis))}"
    run = harness.call_cli(["run", str(elf), "--max-insns", str(MAX_INSNS)])
    if BAD_MANIFEST in run.stdout:
        return "the build accepted a manifest the hypervisor refuses at boot"
    verdict = harness.classify(run)
    return None if verdict.kind == "clean" else f"booting it: {verdict.detail}"


def check(case: Case, tmp: Path) -> harness.Outcome:
    tree = source_tree()
    (tree / "manifests" / "fz.toml").write_bytes(manifest_bytes(case))
    out = tmp / "out"
    try:
        proc = harness.call_cli(["build", "--root", str(tree), "--out", str(out), "fz"])
        if proc.seconds > WALL_LIMIT_S:
            return harness.Outcome("hang", f"took {proc.seconds:.1f} s")
        if proc.code != 0:
            return harness.classify(proc)
        problem = _accepted_breaks_isolation(out / "fz.elf")
        return harness.Outcome("leak", problem) if problem else harness.Outcome("clean")
    finally:
        shutil.rmtree(out, ignore_errors=True)
