"""Shared fixtures: images built once per session from firmware/ and guest/, and the reference QEMU."""

from __future__ import annotations

import io
import os
import struct
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


# Prints the first word at x0 (the FDT magic, d00dfeed) in hex and whether x1-x3 were zero,
# on the PL011, then powers off by PSCI SYSTEM_OFF through the EL2 conduit (SMC).
GUEST = """
    orr x7, x1, x2
    orr x7, x7, x3
    ldr w1, [x0]
    rev w1, w1
    movz x2, #0x0900, lsl #16
    mov x3, #28
digit:
    lsr w4, w1, w3
    and w4, w4, #0xf
    add w5, w4, #0x30
    add w6, w4, #0x57
    cmp w4, #10
    csel w4, w5, w6, lo
    strb w4, [x2]
    subs x3, x3, #4
    b.ge digit
    mov w4, #0x20
    strb w4, [x2]
    mov w4, #0x5a
    cbz x7, zero
    mov w4, #0x4e
zero:
    strb w4, [x2]
    mov w4, #0x0a
    strb w4, [x2]
    movz w0, #0x0008
    movk w0, #0x8400, lsl #16
    smc #0
"""


def arm64_image(text_offset: int = 0, image_size: int | None = None, code: str = GUEST) -> bytes:
    """A tiny arm64 Linux Image running ``code``: the 64-byte header (Documentation/arch/arm64/
    booting.rst) with code0 branching past it."""
    from keystone import KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN, Ks

    body = bytes(Ks(KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN).asm(code, 0x40)[0])
    size = 0x40 + len(body) if image_size is None else image_size
    header = struct.pack("<IIQQQQQQ4sI", 0x14000010, 0xD503201F, text_offset, size, 0xA, 0, 0, 0,
                         b"ARM\x64", 0)   # code0 = b +0x40, code1 = nop, flags: LE, 4 KiB pages
    assert len(header) == 0x40
    return header + body



# A snippet ending a test image with Arm semihosting SYS_EXIT, x0 as the exit code (boot-EL
# only unless the test allows lower ELs). Needs smccc.inc.
EXIT_WITH_X0 = """
exit_x0:
    adr     x1, exit_block
    str     x0, [x1, #8]
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000
    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
"""


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
