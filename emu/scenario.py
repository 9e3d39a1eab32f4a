"""Regression matrix: every scenario against every firmware build, as JUnit XML and a table.

A scenario is data (TOML):

    name = "demo: the attacker is contained, the others finish"
    image = "demo"                # <image>.elf in each build directory
    el = 2                        # start at EL2 (default) or 1
    max_time = "50ms"             # virtual time before the run counts as hung
    exit_code = 1                 # expected; omit to accept any
    expect = ['\\[counter\\] done', 'stage-2 violation']   # regexes that must appear, in order
    forbid = ['panic', 'BREACH']  # regexes that must not appear

``emu test BUILD_DIR... --scenario FILE...`` runs each pair on a fresh machine in deterministic
time and exits 0 only if every pair passed.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .errors import EmuError

_KEYS = {"name", "image", "el", "max_time", "exit_code", "expect", "forbid", "max_insns"}


@dataclass
class Scenario:
    name: str
    image: str
    path: Path
    el: int = 2
    max_time: str = "1s"
    exit_code: int | None = None
    expect: list[str] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    build: str
    scenario: str
    passed: bool
    reason: str
    seconds: float
    console: str = ""


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as err:
        raise EmuError(f"{path}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise EmuError(f"{path}: {err}") from None
    unknown = set(data) - _KEYS
    if unknown:
        raise EmuError(f"{path}: unknown keys {', '.join(sorted(unknown))}")
    if "image" not in data:
        raise EmuError(f"{path}: a scenario needs an image")
    for key in ("expect", "forbid"):
        for rx in data.get(key, []):
            try:
                re.compile(rx)
            except re.error as err:
                raise EmuError(f"{path}: bad regular expression {rx!r} in {key}: {err}") from None
    return Scenario(name=data.get("name", path.stem), image=data["image"], path=path, el=int(data.get("el", 2)),
                    max_time=str(data.get("max_time", "1s")), exit_code=data.get("exit_code"),
                    expect=list(data.get("expect", [])), forbid=list(data.get("forbid", [])))


def run_one(build: Path, sc: Scenario) -> Outcome:
    from .loader.elf import load_elf
    from .machine import Console, Machine
    from .cpu.clock import parse_virtual_time

    t0 = time.perf_counter()
    label = str(build)
    image = build / f"{sc.image}.elf"
    try:
        m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), start_el=sc.el)
        m.load(load_elf(str(image)))
        result = m.run(until_counter=parse_virtual_time(sc.max_time))
    except EmuError as err:
        return Outcome(label, sc.name, False, str(err), time.perf_counter() - t0)
    text = m.console.text
    reasons = []
    if result.paused:
        reasons.append(f"still running after {sc.max_time} of virtual time")
    elif result.diagnostic:
        reasons.append(f"{result.reason}: {result.diagnostic}")
    if sc.exit_code is not None and not result.paused and result.exit_code != sc.exit_code:
        reasons.append(f"exit code {result.exit_code}, expected {sc.exit_code}")
    pos = 0
    for rx in sc.expect:
        found = re.compile(rx, re.M).search(text, pos)
        if found is None:
            reasons.append(f"missing line /{rx}/" + (" (after the previous expected one)" if pos else ""))
            break
        pos = found.end()
    for rx in sc.forbid:
        found = re.compile(rx, re.M).search(text)
        if found is not None:
            line = text[text.rfind("\n", 0, found.start()) + 1:text.find("\n", found.end())]
            reasons.append(f"forbidden line /{rx}/: {line.strip()!r}")
    return Outcome(label, sc.name, not reasons, "; ".join(reasons) or "ok", time.perf_counter() - t0, text)


def run_matrix(builds: list[Path], scenarios: list[Scenario]) -> list[Outcome]:
    return [run_one(b, s) for b in builds for s in scenarios]


def junit_xml(outcomes: list[Outcome]) -> str:
    suites = ET.Element("testsuites", name="emu")
    by_build: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_build.setdefault(o.build, []).append(o)
    for build, outs in by_build.items():
        suite = ET.SubElement(suites, "testsuite", name=build, tests=str(len(outs)),
                              failures=str(sum(not o.passed for o in outs)),
                              time=f"{sum(o.seconds for o in outs):.3f}")
        for o in outs:
            case = ET.SubElement(suite, "testcase", classname=build, name=o.scenario, time=f"{o.seconds:.3f}")
            if not o.passed:
                fail = ET.SubElement(case, "failure", message=o.reason)
                fail.text = o.console
    return ET.tostring(suites, encoding="unicode")


def table(outcomes: list[Outcome]) -> str:
    builds = list(dict.fromkeys(o.build for o in outcomes))
    scen = list(dict.fromkeys(o.scenario for o in outcomes))
    cell = {(o.build, o.scenario): o for o in outcomes}
    w0 = max(len(s) for s in scen + ["scenario"])
    widths = [max(len(b), 4) for b in builds]
    lines = ["  ".join(["scenario".ljust(w0)] + [b.ljust(w) for b, w in zip(builds, widths)])]
    for s in scen:
        row = [s.ljust(w0)] + [("PASS" if cell[(b, s)].passed else "FAIL").ljust(w) for b, w in zip(builds, widths)]
        lines.append("  ".join(row))
    fails = [o for o in outcomes if not o.passed]
    if fails:
        lines.append("")
        lines += [f"FAIL {o.build} :: {o.scenario}: {o.reason}" for o in fails]
    lines.append(f"{sum(o.passed for o in outcomes)} passed, {len(fails)} failed")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="emu test", description="run scenarios against firmware builds")
    ap.add_argument("builds", nargs="+", help="directories of built ELF images (e.g. the output of emu build)")
    ap.add_argument("--scenario", nargs="+", required=True, metavar="TOML", help="scenario files")
    ap.add_argument("--junit", default=None, metavar="FILE", help="write JUnit XML here")
    args = ap.parse_args(argv)
    builds = []
    for b in args.builds:
        p = Path(b)
        if not p.is_dir():
            raise EmuError(f"{b}: not a directory of builds")
        builds.append(p)
    scenarios = [load_scenario(s) for s in args.scenario]
    outcomes = run_matrix(builds, scenarios)
    print(table(outcomes))
    if args.junit:
        Path(args.junit).write_text(junit_xml(outcomes))
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
