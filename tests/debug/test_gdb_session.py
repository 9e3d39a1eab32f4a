"""A real gdb-multiarch against ``emu debug``: stop on the hypervisor's stage-2 fault handler
when the attacker tenant trips it, read the syndrome, step through the handler."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from gdb_client import GdbClient  # noqa: F401  (registers the 'gdb' marker)

from emu.loader.elf import load_elf

ROOT = Path(__file__).resolve().parents[2]
GDB_TIMEOUT = 180

# The attacker tenant reads IPA 0x41000000 (tenant 0's PA, outside its own window); HPFAR_EL2
# holds IPA[47:12] in bits [39:4].
ATTACKER_IPA = 0x41000000
ATTACKER_HPFAR = (ATTACKER_IPA >> 12) << 4
EC_DABT_LOW = 0x24

pytestmark = pytest.mark.gdb


@pytest.fixture(scope="module")
def gdb() -> str:
    path = shutil.which("gdb-multiarch")
    if path is None:
        if os.environ.get("EMU_REQUIRE_QEMU") or os.environ.get("CI"):
            pytest.fail("gdb-multiarch is required here (install Debian's gdb-multiarch)")
        pytest.skip("gdb-multiarch not installed: the debugger tests need it (Debian's gdb-multiarch)")
    return path


class EmuDebug:
    """``emu debug IMAGE --gdb 127.0.0.1:0`` as a subprocess; the port is read from stderr."""

    def __init__(self, image: Path, tmp: Path, extra: tuple[str, ...] = ()):
        self.stdout = open(tmp / "console.txt", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "emu", "debug", *extra, str(image), "--gdb", "127.0.0.1:0"],
            cwd=ROOT, stdout=self.stdout, stderr=subprocess.PIPE, text=True)
        self.stderr: list[str] = []
        self.port = None
        for line in self.proc.stderr:
            self.stderr.append(line)
            m = re.search(r"gdb server listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.proc.wait(10)
            raise RuntimeError("emu debug did not start: " + "".join(self.stderr))
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()

    def _read_rest(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line)

    def close(self) -> int | None:
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.stdout.close()


def run_gdb(gdb: str, image: Path, port: int, commands: list[str]) -> str:
    args = [gdb, "-q", "-batch", "-nx", "-ex", "set architecture aarch64", "-ex", f"file {image}",
            "-ex", f"target remote 127.0.0.1:{port}"]
    for c in commands:
        args += ["-ex", c]
    out = subprocess.run(args, capture_output=True, text=True, timeout=GDB_TIMEOUT)
    return out.stdout + out.stderr


def values(text: str, name: str) -> list[int]:
    return [int(v, 16) for v in re.findall(rf"^{name}=(0x[0-9a-f]+)$", text, re.M)]


@pytest.fixture
def demo(built, tmp_path):
    image = built["demo"]
    emu = EmuDebug(image, tmp_path)
    yield image, emu
    if emu.proc.poll() is None:
        emu.proc.kill()
    emu.close()


def _stage2_handler(image: Path) -> str:
    # The data-abort handler if the hypervisor names one; otherwise its vector slot, which
    # the style guide fixes (sync_lower_a64) and which every stage-2 fault passes through.
    symbols = load_elf(str(image)).symbols
    return "handle_dabt_low" if "handle_dabt_low" in symbols else "sync_lower_a64"


def test_break_on_the_stage2_fault_handler_read_the_syndrome_and_step(gdb, demo):
    image, emu = demo
    handler = _stage2_handler(image)
    out = run_gdb(gdb, image, emu.port, [
        f"break {handler} if $HPFAR_EL2 == {ATTACKER_HPFAR:#x}",
        "continue",
        'printf "ESR=%#lx\\n", $ESR_EL2',
        'printf "HPFAR=%#lx\\n", $HPFAR_EL2',
        'printf "EL=%#lx\\n", $CurrentEL',
        'printf "PC=%#lx\\n", $pc',
        "stepi", 'printf "PC=%#lx\\n", $pc',
        "stepi", 'printf "PC=%#lx\\n", $pc',
        "stepi", 'printf "PC=%#lx\\n", $pc',
        "info registers",
        "monitor stage2 0x40000000",
        "monitor tenant",
        "kill",
    ])
    assert "Breakpoint 1" in out, out
    (esr,) = values(out, "ESR")
    assert esr >> 26 == EC_DABT_LOW, out
    assert values(out, "HPFAR") == [ATTACKER_HPFAR], out
    assert values(out, "EL") == [2 << 2], out
    pcs = values(out, "PC")
    symbols = load_elf(str(image)).symbols
    assert pcs[0] == symbols[handler], out
    assert len(pcs) == 4 and all(a != b for a, b in zip(pcs, pcs[1:])), out
    hyp_text = min(symbols.values()), symbols[handler] + 0x10000
    assert all(hyp_text[0] <= pc < hyp_text[1] for pc in pcs), out
    assert re.search(r"^ESR_EL2\s+0x[0-9a-f]+", out, re.M), out
    assert re.search(r"^HPFAR_EL2\s+0x410000\b", out, re.M), out
    assert re.search(r"level \d: table 0x[0-9a-f]+\[\d+\] = 0x[0-9a-f]+", out), out
    assert "IPA 0x40000000 -> PA" in out, out
    assert "attacker" in out, out
    assert emu.close() == 0
    assert "Traceback" not in "".join(emu.stderr)


def test_monitor_trap_on_stops_at_each_entry_to_el2(gdb, demo):
    image, emu = demo
    out = run_gdb(gdb, image, emu.port, [
        "monitor trap on",
        "continue",
        'printf "PC=%#lx\\n", $pc',
        'printf "ESR=%#lx\\n", $ESR_EL2',
        "continue",
        'printf "PC=%#lx\\n", $pc',
        "monitor trap off",
        "continue",
    ])
    symbols = load_elf(str(image)).symbols
    vectors = {symbols[n] for n in ("sync_lower_a64", "irq_lower_a64") if n in symbols}
    pcs = values(out, "PC")
    assert len(pcs) == 2 and set(pcs) <= vectors, out
    assert "trap: EL1->EL2" in out and "ESR_EL2=0x" in out, out
    # With trap off the demo runs to its end: the hypervisor exits with the number of
    # tenants it contained.
    assert "exited with code 01" in out, out
    assert emu.close() == 1


def test_set_register_and_read_memory_at_the_current_el(gdb, demo):
    image, emu = demo
    symbols = load_elf(str(image)).symbols
    out = run_gdb(gdb, image, emu.port, [
        "set $x0 = 5",
        'printf "X0=%#lx\\n", $x0',
        'printf "WORD=%#x\\n", *(unsigned int *)$pc',
        "x/2i $pc",
        "detach",
    ])
    assert values(out, "X0") == [5], out
    seg = next(s for s in load_elf(str(image)).segments if s.addr <= symbols["_start"] < s.addr + len(s.data))
    off = symbols["_start"] - seg.addr
    assert values(out, "WORD") == [int.from_bytes(seg.data[off:off + 4], "little")], out
    assert "<_start>" in out, out
    # Detached, the guest runs to its end and the server closes.
    assert emu.close() == 1


def test_info_threads_shows_every_core_and_a_secondary_stops_in_its_thread(gdb, built, tmp_path):
    image = built["smp_psci_cores"]
    emu = EmuDebug(image, tmp_path, ("--smp", "4"))
    try:
        out = run_gdb(gdb, image, emu.port, ["break secondary", "continue", "info threads",
                                             "thread 3", "print/x $pc", "print/x $x0", "kill"])
    finally:
        if emu.proc.poll() is None:
            emu.proc.kill()
        emu.close()
    threads = re.findall(r"^\*?\s+(\d+)\s+Thread (\d+) \(([^)]*)\)", out, re.M)
    assert [t[0] for t in threads] == ["1", "2", "3", "4"], out
    assert threads[1][2] == "core 1 at EL2", out
    assert re.search(r"Thread 2 .*hit Breakpoint 1, .*secondary", out), out
    assert re.search(r"^\$2 = 0x102$", out, re.M), out      # core 2's context ID in its x0
