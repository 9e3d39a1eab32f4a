"""Lets the fuzz suites and their tests ``import harness`` and ``import fz_<name>``, and hands
the session's built images to the suites that declare ``setup`` (see harness.py)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402  (found through the path set just above)


@pytest.fixture
def fuzz_run(request, tmp_path):
    """``fuzz_run(module, seed, n)``: ``harness.run_suite`` in a temp dir, with the session's
    ``built`` images given to the suite first if it declares ``setup`` (and only then built)."""

    def run(module, seed: int, n: int) -> harness.Figures:
        built = request.getfixturevalue("built") if harness.needs_built(module) else None
        return harness.run_suite(module, seed, n, tmp_path, built=built)

    return run
