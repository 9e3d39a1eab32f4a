"""Tenants from any toolchain: a manifest names a prebuilt ELF (or raw binary) instead of an
image of images.toml, and the hypervisor runs it as any other tenant (emu/build/manifest.py,
"Prebuilt tenants"). The images here come from ``emu build`` into a temporary directory and
from GCC (aarch64-linux-gnu-gcc, which CI installs), linked at TENANT_IPA_BASE."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import boot

from emu.build.manifest import load_manifest, pack_manifest
from emu.loader.elf import load_elf

GCC = "aarch64-linux-gnu-gcc"

# A bare-metal EL1 program for QEMU virt, as a tenant sees it: the PL011 at 0x0900_0000 and PSCI
# SYSTEM_OFF by HVC. The stack is 1 MiB into its 2 MiB of RAM.
GCC_TENANT = r"""
#include <stdint.h>
#define UART_DR ((volatile uint32_t *)0x09000000)
static void put(const char *s) { while (*s) *UART_DR = (uint8_t)*s++; }
void c_main(void) {
    put("Hello from GCC at EL1\n");
    register uint64_t x0 __asm__("x0") = 0x84000008;  /* PSCI SYSTEM_OFF */
    __asm__ volatile("hvc #0" : "+r"(x0));
    for (;;) __asm__ volatile("wfi");
}
__asm__(".global _start\n_start:\n ldr x0, =0x40100000\n mov sp, x0\n bl c_main\n b .\n");
"""


def gcc_tenant(tmp_path: Path, base: int = 0x40000000) -> Path:
    if shutil.which(GCC) is None:
        pytest.skip(f"{GCC} not installed (Debian's gcc-aarch64-linux-gnu)")
    src, elf = tmp_path / "gcc_tenant.c", tmp_path / "gcc_tenant.elf"
    src.write_text(GCC_TENANT)
    # -N: one segment from the link address, without the ELF headers mapped below it.
    subprocess.run([GCC, "-O2", "-ffreestanding", "-nostdlib", "-static", "-mgeneral-regs-only", "-Wl,-N",
                    f"-Wl,-Ttext={base:#x}", "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments", "-Wl,-e,_start",
                    "-o", str(elf), str(src)], check=True, capture_output=True)
    return elf


def system(manifest: Path, built) -> object:
    m = load_manifest(manifest, None)
    return pack_manifest(m, {"hyp": load_elf(str(built["hyp"]))})


def test_a_manifest_naming_prebuilt_elfs_boots_and_tags_their_lines(built, tmp_path):
    gcc = gcc_tenant(tmp_path)
    shutil.copy(built["counter"], tmp_path / "counter.elf")
    manifest = tmp_path / "prebuilt.toml"
    manifest.write_text(f'''hypervisor = "hyp"
[[tenant]]
name = "from_emu_build"
image = "{built["hello"]}"
memory = 0x200000
[[tenant]]
name = "gcc"
image = "{gcc.name}"
memory = 0x200000
[[tenant]]
name = "beside_the_manifest"
image = "counter.elf"
memory = 0x200000
''')
    m, result, _ = boot(system(manifest, built), max_insns=50_000_000)
    out = m.console.text.splitlines()
    assert result.exit_code == 0 and result.diagnostic is None
    assert "[from_emu_build] Hello from EL1" in out
    assert "[gcc] Hello from GCC at EL1" in out
    assert any(l.startswith("[beside_the_manifest] ") for l in out)
    assert "hyp: tenant 1 (gcc): system off" in out
    assert out[-1] == "hyp: all tenants stopped, 0 contained"


def test_a_raw_binary_tenant_boots_at_its_raw_ipa(built, tmp_path):
    """hello, flattened as objcopy -O binary would (its BSS is the zeroed RAM after it), runs
    from raw = its link address, entered at its first byte."""
    hello = load_elf(str(built["hello"]))
    [segment] = hello.segments
    assert hello.entry == segment.addr == 0x40000000
    (tmp_path / "hello.bin").write_bytes(segment.data)
    manifest = tmp_path / "raw.toml"
    manifest.write_text('hypervisor = "hyp"\n[[tenant]]\nname = "raw"\nimage = "hello.bin"\nraw = 0x40000000\n'
                        'memory = 0x200000\n')
    m, result, _ = boot(system(manifest, built), max_insns=20_000_000)
    assert result.exit_code == 0
    assert "[raw] Hello from EL1" in m.console.text.splitlines()
