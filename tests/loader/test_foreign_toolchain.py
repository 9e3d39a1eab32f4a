"""Images from other toolchains: a GCC bare-metal ELF built with default flags, whose
.note.gnu.build-id segment lands in virt's flash at 0x400000, runs as on QEMU, which loads
every segment into whichever RAM or ROM holds it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import boot

from emu.errors import ImageError
from emu.loader.image import Image, Segment
from emu.loader.raw import check_placement
from emu.reference import run_qemu

GCC = "aarch64-linux-gnu-gcc"

PROGRAM = r"""
static volatile unsigned int *const uart = (unsigned int *)0x09000000;

static void puts(const char *s) { while (*s) *uart = (unsigned char)*s++; }

void _start(void) {
    static unsigned long block[2] = {0x20026, 7};   /* ADP_Stopped_ApplicationExit, code 7 */
    puts("hello from gcc\n");
    register unsigned long x0 __asm__("x0") = 0x18;  /* SYS_EXIT */
    register unsigned long *x1 __asm__("x1") = block;
    __asm__ volatile("hlt #0xf000" : : "r"(x0), "r"(x1) : "memory");
    for (;;) {}
}
"""

REGIONS = {"RAM": (0x40000000, 0x40000000), "flash": (0, 0x08000000)}


def _image(*segs, entry=0x40080000):
    return Image("img", entry, [Segment(a, b"\0" * n, n, "r") for a, n in segs])


def test_a_segment_in_flash_is_placed_there():
    check_placement(_image((0x400000, 0x24), (0x40080000, 0x100)), REGIONS)


def test_a_segment_in_neither_ram_nor_flash_is_one_line():
    with pytest.raises(ImageError, match=r"segment 0x30000000-0x300000ff lies outside RAM 0x40000000-0x7fffffff "
                                         r"and flash 0x0-0x7ffffff"):
        check_placement(_image((0x30000000, 0x100), (0x40080000, 0x100)), REGIONS)


@pytest.fixture(scope="module")
def gcc_elf(tmp_path_factory):
    if shutil.which(GCC) is None:
        if os.environ.get("EMU_REQUIRE_QEMU") or os.environ.get("CI"):
            pytest.fail(f"{GCC} is required here (Debian's gcc-aarch64-linux-gnu)")
        pytest.skip(f"{GCC} not installed: Debian's gcc-aarch64-linux-gnu builds the foreign-toolchain image")
    d = tmp_path_factory.mktemp("gcc")
    (d / "hello.c").write_text(PROGRAM)
    out = d / "hello.elf"
    subprocess.run([GCC, "-O1", "-ffreestanding", "-nostdlib", "-static", "-Wl,-Ttext=0x40080000",
                    "-o", str(out), str(d / "hello.c")], check=True, capture_output=True)
    return out


def test_gcc_default_elf_has_a_segment_in_flash(gcc_elf):
    out = subprocess.run(["aarch64-linux-gnu-readelf", "-lW", str(gcc_elf)], capture_output=True, text=True).stdout
    loads = [l.split() for l in out.splitlines() if l.strip().startswith("LOAD")]
    assert any(int(f[2], 16) < 0x08000000 for f in loads), out    # virt's flash


@pytest.mark.qemu
def test_gcc_default_elf_runs_as_on_qemu(qemu, gcc_elf):
    ref = run_qemu(gcc_elf, timeout=30)
    m, result, _ = boot(gcc_elf, max_insns=1_000_000)
    assert ref.exit_code == result.exit_code == 7
    assert m.console.transcript == ref.transcript == b"hello from gcc\n"
