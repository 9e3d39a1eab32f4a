"""Shared fixtures: images built once per session from firmware/ and guest/, and the reference QEMU."""

from __future__ import annotations

import io
import os
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The fuzz suites (tests/fuzz) import their harness and each other by name. They share this one
# conftest: a second conftest.py would also be imported as ``conftest``, and ``from conftest
# import boot`` elsewhere would find the wrong one.
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[str, Path]:
    """Every image and system image, built from the sources by the real pipeline."""
    from emu.build.pipeline import build

    return build(ROOT, tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def qemu() -> str:
    """Path of qemu-system-aarch64. In CI (EMU_REQUIRE_QEMU or CI set) a missing QEMU fails the
    differential tests instead of skipping them."""
    from emu.reference import qemu_path

    path = qemu_path()
    if path is None:
        if os.environ.get("EMU_REQUIRE_QEMU") or os.environ.get("CI"):
            pytest.fail("qemu-system-aarch64 is required here (install Debian's qemu-system-arm)")
        pytest.skip("qemu-system-aarch64 not installed: differential test needs Debian's qemu-system-arm")
    return path


@pytest.fixture(scope="session")
def dtc() -> str:
    """Path of the device tree compiler. In CI (EMU_REQUIRE_QEMU or CI set) a missing dtc fails
    the tests that read our device trees with it instead of skipping them."""
    import shutil

    path = shutil.which("dtc")
    if path is None:
        if os.environ.get("EMU_REQUIRE_QEMU") or os.environ.get("CI"):
            pytest.fail("dtc is required here (install Debian's device-tree-compiler)")
        pytest.skip("dtc not installed: reading the device tree with it needs Debian's device-tree-compiler")
    return path


def boot(image_path_or_image, max_insns: int | None = None, trace: set[str] | None = None, start_el: int = 2,
         semihosting=None):
    """Run an image on a fresh machine, console captured; returns (machine, result, trace text).
    ``semihosting`` is a SemihostingConfig (default: honoured at the boot EL only)."""
    from emu.debug.trace import Tracer
    from emu.loader.elf import load_elf
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), start_el=start_el,
                semihosting=semihosting)
    out = io.StringIO()
    if trace:
        Tracer(m, trace, out)
    image = image_path_or_image
    if not hasattr(image, "segments"):
        image = load_elf(str(image))
    m.load(image)
    result = m.run(max_insns=max_insns)
    return m, result, out.getvalue()


@pytest.fixture
def asm_image(tmp_path):
    """Assemble a snippet (board.inc and smccc.inc available) into an Image at 0x40200000."""
    from emu.build.asm import assemble

    def make(source: str, base: int = 0x40200000, name: str = "snippet"):
        path = tmp_path / f"{name}.s"
        path.write_text(textwrap.dedent(source))
        return assemble(path, base, [ROOT / "firmware" / "include"])

    return make


@pytest.fixture
def fuzz_run(request, tmp_path):
    """``fuzz_run(module, seed, n)``: ``harness.run_suite`` (tests/fuzz/harness.py) in a temp
    dir, with the session's ``built`` images given to the suite first if it declares ``setup``
    (and only then built)."""
    import harness

    def run(module, seed: int, n: int):
        built = request.getfixturevalue("built") if harness.needs_built(module) else None
        return harness.run_suite(module, seed, n, tmp_path, built=built)

    return run
