"""Stock U-Boot (Debian's u-boot-qemu, qemu_arm64) booted with ``emu run --bios``, as
``qemu-system-aarch64 -M virt -bios u-boot.bin`` boots it: to the ``=>`` prompt, a few
commands typed on the console, then ``poweroff`` (PSCI SYSTEM_OFF by SMC at EL2) ends the run.
The second test types the same commands on QEMU and compares the transcripts line by line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emu.bench import UBOOT, qemu_uboot_session

ROOT = Path(__file__).resolve().parents[2]

# U-Boot 2023.01's `fdt print` needs a working tree: `fdt addr` points it at the control tree,
# the one the board passed at RAM base (relocated by U-Boot), so /chosen is the board's.
COMMANDS = ["version", "bdinfo", "fdt addr $fdtcontroladdr", "fdt print /chosen", "poweroff"]
MAX_INSNS = 200_000_000   # about 38 M to the prompt, all commands and poweroff

AUTOBOOT = "Hit any key to stop autoboot:"

# Lines that differ from QEMU because our board or its device tree differs from QEMU's virt
# (prefix of the line after '\r' is dropped -> why). Each is checked to still differ, so the
# list stays true when the board changes.
KNOWN_DIFFERENCES = {
    # QEMU's tree also has platform-bus@c000000, gpio-keys, pmu and cpus/cpu-map; `dm tree`
    # shows U-Boot binding simple_bus to the first, the device and uclass ours lacks.
    "Core:": "U-Boot binds more devices to QEMU's larger tree (47 devices, 13 uclasses vs 46, 12)",
    "Early malloc usage:": "more devices bound before relocation on QEMU's tree",
    # QEMU's tree is left at its 1 MiB allocation (totalsize 0x100000); ours is packed (a few
    # KiB). U-Boot copies the tree below its relocated code, reserving totalsize, so every
    # address below that moves with it.
    "fdt_size": "QEMU's tree is 1 MiB (unpacked), ours is packed",
    "fdt_blob": "follows fdt_size",
    "new_fdt": "follows fdt_size",
    " reserved[0]": "follows fdt_size",
    " reserved[1]": "follows fdt_size",
    "irq_sp": "follows fdt_size",
    "sp start": "follows fdt_size",
    "Working FDT set to": "follows fdt_size",
    # QEMU fills these with random bytes on every boot (-M virt,dtb-randomness=on, its
    # default); our board gives no seed.
    "\trng-seed": "QEMU's /chosen has a random rng-seed; ours has none",
    "\tkaslr-seed": "QEMU's /chosen has a random kaslr-seed; ours has none",
}


@pytest.fixture(scope="session")
def uboot() -> Path:
    """Debian's U-Boot for QEMU's arm64 virt board. In CI (EMU_REQUIRE_QEMU or CI set) a
    missing package fails the tests instead of skipping them."""
    if not UBOOT.is_file():
        if os.environ.get("EMU_REQUIRE_QEMU") or os.environ.get("CI"):
            pytest.fail(f"{UBOOT} is required here (install Debian's u-boot-qemu)")
        pytest.skip(f"{UBOOT} not found: the stock U-Boot test needs Debian's u-boot-qemu")
    return UBOOT


def run_emu(uboot: Path) -> tuple[subprocess.CompletedProcess, str]:
    """Boot U-Boot on emu with the commands queued as input. The first byte is the key that
    stops the autoboot countdown (U-Boot consumes it without echo)."""
    text = "\n" + "".join(c + "\n" for c in COMMANDS)
    p = subprocess.run([sys.executable, "-m", "emu", "run", "--bios", str(uboot), "--max-insns", str(MAX_INSNS),
                        "--input", text.replace("\n", "\\n")],
                       cwd=ROOT, capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    return p, p.stdout.decode(errors="replace")


def lines(transcript: str) -> list[str]:
    return transcript.replace("\r", "").split("\n")


def agreed(transcript: str) -> list[str]:
    """The lines both machines must print alike: all but the autoboot line (when the key
    arrives is timing: queued before the countdown, U-Boot prints "\\b\\b\\b 0" and no space;
    typed during it, "\\b\\b\\b 0 ") and the known differences."""
    return [ln for ln in lines(transcript)
            if not ln.startswith(AUTOBOOT) and not ln.startswith(tuple(KNOWN_DIFFERENCES))]


def check_session(transcript: str) -> None:
    """What every run of the commands must print, on either machine."""
    out = lines(transcript)
    assert any(ln.startswith(AUTOBOOT) for ln in out)
    assert re.search(r"^=> version\nU-Boot 20\d\d\.\d\d\S* \(.*\)\n\n.*gcc", "\n".join(out), re.M)
    for want in ["=> bdinfo", "-> start    = 0x0000000040000000", "-> size     = 0x0000000040000000",
                 "relocaddr   = 0x000000007fef7000", "=> fdt print /chosen", "chosen {",
                 '\tstdout-path = "/pl011@9000000";', "=> poweroff", "poweroff ..."]:
        assert want in out, f"missing line {want!r}"
    assert not any("Unknown command" in ln or "Aborting" in ln for ln in out)


def test_uboot_boots_to_prompt_and_powers_off(uboot):
    p, transcript = run_emu(uboot)
    assert p.returncode == 0, f"exit {p.returncode}: {p.stderr.decode(errors='replace')}\n{transcript}"
    check_session(transcript)
    assert transcript.endswith("poweroff ...\r\n")   # SYSTEM_OFF ends the run at once


@pytest.mark.qemu
def test_uboot_transcript_matches_qemu(uboot, qemu):
    p, ours = run_emu(uboot)
    assert p.returncode == 0, f"exit {p.returncode}: {p.stderr.decode(errors='replace')}\n{ours}"
    code, ref, _ = qemu_uboot_session(qemu, uboot, COMMANDS)
    assert code == 0, f"QEMU exit {code}; console:\n{ref}"
    check_session(ref)
    assert agreed(ours) == agreed(ref)
    for prefix, why in KNOWN_DIFFERENCES.items():
        a = [ln for ln in lines(ours) if ln.startswith(prefix)]
        b = [ln for ln in lines(ref) if ln.startswith(prefix)]
        assert a != b, f"{prefix!r} now matches QEMU ({why}): drop it from KNOWN_DIFFERENCES"
