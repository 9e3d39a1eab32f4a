"""The contract every fuzz suite keeps, so that pytest (small, seeded) and ``scripts/fuzz.py``
(long, on demand) run the same cases and count outcomes the same way.

A suite is a module ``tests/fuzz/fz_<name>.py`` with

    NAME = "elf"                      # what the figures call it
    def cases(rng: random.Random, n: int) -> Iterable[object]   # n cases from a seeded rng
    def check(case, tmp: Path) -> Outcome                        # run one case

and, optionally,

    LONG_CASES = 2000                 # how many cases scripts/fuzz.py runs by default
    def setup(built: dict[str, Path]) -> None    # the images the build pipeline made
    def teardown() -> None            # release what the cases shared (a server, a process)

``setup`` receives what ``emu.build.pipeline.build`` returned (image name -> ELF path), before
the first case: ``run_suite(..., built=...)`` calls it, scripts/fuzz.py builds the images once
into a temp dir for every suite that declares it, and pytest hands over the session's ``built``
images through the ``fuzz_run`` fixture (tests/conftest.py). ``teardown`` runs after the
last case, even when a case raised, so a suite may keep one server or process across a batch
of cases; it should still end each batch in a case of its own, so that how the server exits
is checked and counted like any other outcome.

and a pytest file that runs ``run_suite(module, seed, n)`` with a small n and asserts that
every outcome is clean. An outcome is one of:

- ``clean``: the emulator ended with one clear line and a non-zero exit, or worked;
- ``traceback``: a Python traceback, an uncaught exception or a crash by signal;
- ``hang``: the case ran past its time limit (a wall-clock guard, never an assertion on speed);
- ``leak``: something crossed a boundary it must not: a tenant's secret on the console, a
  forged line, a file or process left behind, memory growing without bound.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import time
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("clean", "traceback", "hang", "leak")


@dataclass
class Outcome:
    kind: str
    detail: str = ""

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind


@dataclass
class Proc:
    """What one emu command did."""

    code: int | None      # None when it hung and was killed
    stdout: bytes
    stderr: str
    seconds: float


def run_cli(args: list[str], *, timeout: float = 60.0, stdin: bytes | None = None,
            cwd: Path | None = None, env: dict | None = None) -> Proc:
    """Run ``python -m emu ARGS`` in its own process; kill it after ``timeout`` seconds."""
    t0 = time.monotonic()
    try:
        p = subprocess.run([sys.executable, "-m", "emu", *args], input=stdin if stdin is not None else b"",
                           capture_output=True, timeout=timeout, cwd=cwd or ROOT,
                           env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired as exc:
        return Proc(None, exc.stdout or b"", (exc.stderr or b"").decode("utf-8", "replace"), time.monotonic() - t0)
    return Proc(p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


def call_cli(args: list[str]) -> Proc:
    """Run ``emu.cli.main(ARGS)`` in this process (fast; for cases that parse and never run
    long). An exception escaping main() is returned as a traceback on stderr, code 1."""
    import traceback

    from emu.cli import main

    out, err = io.BytesIO(), io.StringIO()

    text_out = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    t0 = time.monotonic()
    with redirect_stdout(text_out), redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException:  # noqa: BLE001 - exactly what a fuzz case must never do
            traceback.print_exc(file=err)
            code = 1
    return Proc(code, out.getvalue(), err.getvalue(), time.monotonic() - t0)


def classify(proc: Proc, *, ok_codes: Iterable[int] | None = None) -> Outcome:
    """The usual verdict on a run given bad input: no hang, no traceback, no crash by signal,
    a non-zero exit with at most a few ``emu:`` lines on stderr (or an exit in ``ok_codes``)."""
    if proc.code is None:
        return Outcome("hang", f"killed after {proc.seconds:.1f} s; stderr: {proc.stderr[-300:]!r}")
    if "Traceback (most recent call last)" in proc.stderr or proc.code < 0:
        return Outcome("traceback", f"exit {proc.code}; stderr: {proc.stderr[-600:]!r}")
    if ok_codes is not None and proc.code in set(ok_codes):
        return Outcome("clean")
    if proc.code == 0 and ok_codes is not None:
        return Outcome("traceback", f"accepted bad input (exit 0); stderr: {proc.stderr[-300:]!r}")
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    stray = [l for l in lines if not l.startswith("emu:") and not l.startswith("usage:")]
    if stray:
        return Outcome("traceback", f"exit {proc.code}; unexpected stderr: {stray[:3]!r}")
    return Outcome("clean")


@dataclass
class Figures:
    suite: str
    seed: int
    counts: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)   # kind -> (case repr, detail), first seen
    seconds: float = 0.0

    @property
    def tried(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        c = self.counts
        return (f"{self.suite:<12} seed {self.seed:<6} tried {self.tried:>6}  clean {c['clean']:>6}  "
                f"tracebacks {c['traceback']:>3}  hangs {c['hang']:>3}  leaks {c['leak']:>3}  "
                f"({self.seconds:.1f} s)")


def needs_built(module) -> bool:
    """Whether a suite wants the built images (it declares ``setup``)."""
    return callable(getattr(module, "setup", None))


def run_suite(module, seed: int, n: int, tmp: Path, built: dict[str, Path] | None = None) -> Figures:
    """Run ``n`` cases of a suite from ``seed``; the same seed gives the same cases. ``built``
    goes to the suite's ``setup`` first, if it has one; its ``teardown`` runs at the end."""
    if built is not None and needs_built(module):
        module.setup(built)
    rng = random.Random(f"{module.NAME}:{seed}")
    figs = Figures(module.NAME, seed)
    t0 = time.monotonic()
    try:
        for i, case in enumerate(module.cases(rng, n)):
            work = tmp / f"{module.NAME}-{i}"
            work.mkdir(parents=True, exist_ok=True)
            out = module.check(case, work)
            figs.counts[out.kind] += 1
            if out.kind != "clean" and out.kind not in figs.examples:
                figs.examples[out.kind] = (_short(case), out.detail)
    finally:
        teardown = getattr(module, "teardown", None)
        if callable(teardown):
            teardown()
    figs.seconds = time.monotonic() - t0
    return figs


def assert_clean(figs: Figures) -> None:
    """For pytest: every case clean, and the first bad one shown in full."""
    bad = {k: v for k, v in figs.examples.items()}
    assert figs.counts["clean"] == figs.tried and figs.tried > 0, (figs.line(), bad)


def _short(case) -> str:
    text = repr(case)
    return text if len(text) <= 400 else text[:400] + "..."
