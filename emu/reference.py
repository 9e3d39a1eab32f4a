"""The reference emulator: the same ELF on ``qemu-system-aarch64``, for differential tests and
benchmarks. The command line matches the board in emu/board/virt.toml."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

QEMU = "qemu-system-aarch64"


def qemu_path() -> str | None:
    return shutil.which(QEMU)


def qemu_command(elf: str | Path, ram: str = "1G", start_el: int = 2) -> list[str]:
    """The reference command line. ``-nic none``: the board has no NIC, and QEMU's default one
    needs an option ROM (efi-virtio.rom) that only the ipxe-qemu package brings, so the
    reference must not depend on which optional packages a machine happens to have."""
    machine = "virt,virtualization=on,gic-version=2" if start_el == 2 else "virt,gic-version=2"
    return [QEMU, "-M", machine, "-cpu", "cortex-a53", "-m", ram, "-nic", "none",
            "-display", "none", "-monitor", "none", "-serial", "stdio", "-semihosting", "-no-reboot",
            "-kernel", str(elf)]


@dataclass
class QemuRun:
    exit_code: int | None   # None when it had to be killed
    transcript: bytes
    stderr: bytes
    seconds: float


def run_qemu(elf: str | Path, timeout: float = 30.0, ram: str = "1G", start_el: int = 2,
             extra: list[str] | None = None) -> QemuRun:
    """Run ``elf`` to completion on QEMU; the UART is captured from stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(qemu_command(elf, ram, start_el) + (extra or []), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        code = None
    return QemuRun(code, out, err, time.perf_counter() - t0)
