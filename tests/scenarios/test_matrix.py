"""The regression matrix over firmware builds, and that it catches a real regression."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import ROOT

from emu.build.pipeline import build
from emu.scenario import load_scenario, run_matrix, table
from emu.errors import EmuError

SCENARIOS = sorted((ROOT / "tests" / "scenarios").glob("*.toml"))
HYP_SCENARIOS = [s for s in SCENARIOS if s.stem in ("demo_contained", "attack_write_contained", "solo_clean")]


def source_tree(dest: Path) -> Path:
    for part in ("firmware", "guest", "manifests"):
        shutil.copytree(ROOT / part, dest / part)
    shutil.copy(ROOT / "images.toml", dest / "images.toml")
    return dest


def broken_elr_tree(dest: Path) -> Path:
    """The hypervisor with a wrong ELR adjustment: an emulated access resumes 4 bytes too far."""
    tree = source_tree(dest)
    traps = tree / "firmware" / "include" / "hyp_traps.inc"
    text = traps.read_text()
    # skip_instruction adds the trapped instruction's size to the saved ELR_EL2.
    patched, n = re.subn(r"(skip_instruction:\s*\n\s*ldr\s+(x\d+), \[x\d+, #TN_ELR_EL2\]\s*\n\s*add\s+\2, \2, #)2",
                         r"\g<1>6", text)
    assert n == 1, "could not find the ELR adjustment in skip_instruction to break"
    traps.write_text(patched)
    return tree


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("matrix")
    good = source_tree(base / "src-good")
    bad = broken_elr_tree(base / "src-broken-elr")
    out = {}
    for name, tree in (("good", good), ("broken-elr", bad)):
        d = base / name
        build(tree, d, names=["demo", "attack_write", "solo"])
        out[name] = d
    return out


def test_matrix_passes_the_good_build_and_fails_the_broken_one(builds):
    outcomes = run_matrix([builds["good"], builds["broken-elr"]], [load_scenario(s) for s in HYP_SCENARIOS])
    good = [o for o in outcomes if o.build.endswith("good")]
    bad = [o for o in outcomes if o.build.endswith("broken-elr")]
    assert good and all(o.passed for o in good), table(outcomes)
    assert bad and not any(o.passed for o in bad), table(outcomes)


def test_cli_writes_junit_and_a_table_and_fails_on_the_regression(builds, tmp_path):
    junit = tmp_path / "out.xml"
    p = subprocess.run([sys.executable, "-m", "emu", "test", str(builds["good"]), str(builds["broken-elr"]),
                        "--scenario", *map(str, HYP_SCENARIOS), "--junit", str(junit)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 1
    assert re.search(r"^demo: attacker contained, others finish\s+PASS\s+FAIL", p.stdout, re.M), p.stdout
    assert f"{len(HYP_SCENARIOS)} passed, {len(HYP_SCENARIOS)} failed" in p.stdout
    suites = ET.parse(junit).getroot()
    counts = {s.get("name").rsplit("/", 1)[-1]: (int(s.get("tests")), int(s.get("failures"))) for s in suites}
    assert counts == {"good": (len(HYP_SCENARIOS), 0), "broken-elr": (len(HYP_SCENARIOS), len(HYP_SCENARIOS))}
    failure = suites.find(".//failure")
    assert failure is not None and failure.get("message")


def test_every_shipped_scenario_passes_on_the_current_sources(built):
    build_dir = Path(built["demo"]).parent
    outcomes = run_matrix([build_dir], [load_scenario(s) for s in SCENARIOS])
    assert all(o.passed for o in outcomes), table(outcomes)


def test_malformed_scenario_is_refused(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('image = "demo"\nexpect = ["(unclosed"]\n')
    with pytest.raises(EmuError, match="bad regular expression"):
        load_scenario(bad)
    bad.write_text('image = "demo"\nexepct = ["x"]\n')
    with pytest.raises(EmuError, match="unknown keys exepct"):
        load_scenario(bad)
