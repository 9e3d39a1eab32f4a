#!/usr/bin/env python3
"""Run the fuzz suites long: every ``tests/fuzz/fz_*.py``, or the ones named, from one seed.

    scripts/fuzz.py                          # every suite, its own default number of cases
    scripts/fuzz.py --suite gdb --cases 3000 --seed 7
    scripts/fuzz.py --list

Each suite runs through ``harness.run_suite`` in a temp dir, so the cases are the ones pytest
runs for the same seed and count. The images the suites need are built once, from this
checkout, into the temp dir (only when a selected suite declares ``setup``). One figure line
per suite, then the totals, then the first example of each kind of finding. The exit status
is 1 if any case was not clean or a suite could not run (it does not import, or it raised),
2 if nothing could be run (an unknown suite, the images do not build).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUZZ_DIR = ROOT / "tests" / "fuzz"
DEFAULT_CASES = 500   # for a suite that does not say (LONG_CASES)

sys.path.insert(0, str(FUZZ_DIR))
import harness  # noqa: E402  (tests/fuzz is on the path only from here on)


def discover() -> dict[str, Path]:
    """Suite file stem without ``fz_`` -> path, in name order."""
    return {p.stem[len("fz_"):]: p for p in sorted(FUZZ_DIR.glob("fz_*.py"))}


def main(argv: list[str] | None = None) -> int:
    found = discover()
    ap = argparse.ArgumentParser(prog="scripts/fuzz.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", action="append", metavar="NAME",
                    help=f"run only this suite (repeatable): {', '.join(found) or 'none found'}")
    ap.add_argument("--cases", type=int, metavar="N", help="cases per suite (default: each suite's LONG_CASES)")
    ap.add_argument("--seed", type=int, default=0, metavar="S", help="the seed the cases are drawn from (default 0)")
    ap.add_argument("--list", action="store_true", help="list the suites and their default case counts")
    args = ap.parse_args(argv)
    if args.cases is not None and args.cases < 1:
        ap.error("--cases must be at least 1")

    names = args.suite or list(found)
    unknown = [n for n in names if n not in found]
    if unknown:
        print(f"fuzz: no suite {', '.join(unknown)}; there are: {', '.join(found)}", file=sys.stderr)
        return 2

    modules, failed = {}, []
    for name in names:
        try:
            modules[name] = importlib.import_module(f"fz_{name}")
        except Exception as err:  # a suite being written may not import yet; the others still run
            print(f"{name:<12} cannot be imported: {type(err).__name__}: {err}")
            failed.append(name)
    if args.list:
        for name, mod in modules.items():
            print(f"{name:<12} {_cases_for(mod, None):>6} cases  {'(needs built images)' if harness.needs_built(mod) else ''}")
        return 2 if failed else 0

    with tempfile.TemporaryDirectory(prefix="emu-fuzz-") as tmp_text:
        tmp = Path(tmp_text)
        built = None
        if any(harness.needs_built(m) for m in modules.values()):
            built = _build(tmp / "build")
            if built is None:
                return 2
        totals = Counter()
        examples: dict[str, tuple[str, str, str]] = {}   # kind -> (suite, case, detail)
        for name, mod in modules.items():
            n = _cases_for(mod, args.cases)
            try:
                figs = harness.run_suite(mod, args.seed, n, tmp / name, built=built)
            except KeyboardInterrupt:
                print(f"{name:<12} interrupted", flush=True)
                return 130
            except Exception:  # noqa: BLE001 - a bug in the suite itself: show it whole, go on
                print(f"{name:<12} the suite itself failed:", flush=True)
                traceback.print_exc(file=sys.stdout)
                failed.append(name)
                continue
            print(figs.line(), flush=True)
            totals.update(figs.counts)
            for kind, (case, detail) in figs.examples.items():
                examples.setdefault(kind, (name, case, detail))

    tried = sum(totals.values())
    print(f"{'total':<12} {'':<11} tried {tried:>6}  clean {totals['clean']:>6}  tracebacks "
          f"{totals['traceback']:>3}  hangs {totals['hang']:>3}  leaks {totals['leak']:>3}"
          + (f"  ({len(failed)} suite(s) failed to run: {', '.join(failed)})" if failed else ""))
    for kind in harness.KINDS[1:]:
        if kind in examples:
            suite, case, detail = examples[kind]
            print(f"first {kind}: {suite}: {case}\n    {detail}")
    return 1 if failed or totals["clean"] != tried else 0


def _cases_for(module, asked: int | None) -> int:
    return asked if asked is not None else int(getattr(module, "LONG_CASES", DEFAULT_CASES))


def _build(out: Path) -> dict[str, Path] | None:
    from emu.build.pipeline import build
    from emu.errors import EmuError

    try:
        return build(ROOT, out)
    except EmuError as err:
        print(f"fuzz: cannot build the images the suites need: {err}", file=sys.stderr)
        return None


if __name__ == "__main__":
    sys.exit(main())
