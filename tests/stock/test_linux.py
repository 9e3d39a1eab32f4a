"""Stock Linux: Debian bookworm's arm64 kernel (linux-image-<version>-arm64) booted as
``emu run --kernel vmlinuz --initrd initramfs.cpio --append ...`` boots it, to a busybox shell
on ttyAMA0 (busybox-static for arm64 in an initramfs packed by emu.loader.cpio). The test types
``uname -a``, ``cat /proc/cpuinfo`` and ``poweroff -f`` at the prompt; the second test does
the same on QEMU and compares the answers.

The packages come from Debian's archive through a private apt set-up (emu/debian_arm64.py), cached
under ~/.cache/emu/debian-arm64: the first run downloads about 35 MB, later runs nothing."""

from __future__ import annotations

import os
import re
import pytest

from emu.bench import qemu_linux_session
from emu.debian_arm64 import MARKER, PROMPT, Unavailable, fetch, initramfs

APPEND = "console=ttyAMA0 rdinit=/init"
COMMANDS = ["uname -a", "cat /proc/cpuinfo"]


@pytest.fixture(scope="session")
def debian(tmp_path_factory):
    """(kernel, initramfs, kernel version). In CI (EMU_REQUIRE_QEMU or CI set) packages that
    cannot be had fail the tests instead of skipping them."""
    try:
        pk = fetch()
    except Unavailable as err:
        if os.environ.get("EMU_REQUIRE_QEMU") or os.environ.get("CI"):
            pytest.fail(f"Debian's arm64 kernel and busybox-static are required here: {err}")
        pytest.skip(f"the stock Linux test needs Debian's arm64 kernel and busybox-static: {err}")
    cpio = tmp_path_factory.mktemp("linux") / "initramfs.cpio"
    cpio.write_bytes(initramfs(pk.busybox))
    return pk.kernel, cpio, pk.kernel_version


def answers(transcript: str) -> dict[str, list[str]]:
    """Each command's output lines, from the line after its echo to the next prompt."""
    text = transcript.replace("\r", "")
    out = {}
    for cmd in COMMANDS + ["poweroff -f"]:
        m = re.search(re.escape(PROMPT) + r"[^\n]*?" + re.escape(cmd) + r"\n(.*?)(?:" + re.escape(PROMPT) + r"|\Z)",
                      text, re.S)
        assert m, f"no answer to {cmd!r} on the console:\n{transcript[-3000:]}"
        out[cmd] = [ln for ln in m.group(1).split("\n") if ln.strip()]
    return out


def check_answers(got: dict[str, list[str]], version: str) -> None:
    uname = got["uname -a"]
    assert len(uname) == 1 and uname[0].startswith(f"Linux (none) {version} #1 SMP Debian 6.1"), uname
    assert uname[0].endswith(" aarch64 GNU/Linux"), uname
    info = dict(tuple(s.strip() for s in ln.split(":", 1)) for ln in got["cat /proc/cpuinfo"] if ":" in ln)
    assert info["processor"] == "0"
    assert info["CPU implementer"] == "0x41"     # Arm
    assert info["CPU architecture"] == "8"
    assert info["CPU part"] == "0xd03"           # Cortex-A53
    assert "fp" in info["Features"].split() and "asimd" in info["Features"].split()


def boot_emu(machine, debian):
    kernel, cpio, _ = debian
    m = machine(kernel=kernel, initrd=cpio, append=APPEND)
    m.uart.expect(re.escape(MARKER), timeout="10s")       # virtual time: about 0.9 s
    m.uart.expect(re.escape(PROMPT), timeout="1s")
    for cmd in COMMANDS:
        m.uart.send(cmd + "\n")
        m.uart.expect(r"(?s)" + re.escape(cmd) + r".*?" + re.escape(PROMPT), timeout="1s")
    m.uart.send("poweroff -f\n")
    result = m.run(max_insns=200_000_000)
    return result, m.uart.text


def test_linux_boots_to_busybox_and_powers_off(machine, debian):
    result, transcript = boot_emu(machine, debian)
    assert result.exit_code == 0, f"{result.reason} {result.diagnostic}\n{transcript[-3000:]}"
    got = answers(transcript)
    check_answers(got, debian[2])
    assert "Run /init as init process" in transcript
    assert "Kernel panic" not in transcript and "Oops" not in transcript


@pytest.mark.qemu
def test_linux_answers_match_qemu(machine, debian, qemu):
    result, ours = boot_emu(machine, debian)
    assert result.exit_code == 0, f"{result.reason} {result.diagnostic}\n{ours[-3000:]}"
    kernel, cpio, version = debian
    code, ref, _ = qemu_linux_session(qemu, kernel, cpio, APPEND, PROMPT, COMMANDS + ["poweroff -f"], timeout=60)
    assert code == 0, f"QEMU exit {code}; console:\n{ref[-3000:]}"
    a, b = answers(ours), answers(ref)
    check_answers(b, version)
    assert a["uname -a"] == b["uname -a"]
    # Our core reports QEMU's cortex-a53 ID registers and the same counter frequency (62.5 MHz,
    # BogoMIPS 125.00), so /proc/cpuinfo is the same text.
    assert a["cat /proc/cpuinfo"] == b["cat /proc/cpuinfo"]


def test_linux_brings_up_four_cores_with_psci(machine, debian):
    """Debian's kernel on four cores: it starts the secondaries with PSCI CPU_ON,
    /proc/cpuinfo lists four Cortex-A53s with their MPIDRs' affinities as processor numbers,
    and /proc/interrupts shows every core taking its timer interrupts and IPIs."""
    kernel, cpio, _ = debian
    m = machine(kernel=kernel, initrd=cpio, append=APPEND, smp=4)
    m.uart.expect(re.escape(MARKER), timeout="10s")
    m.uart.expect(re.escape(PROMPT), timeout="1s")
    m.uart.send("cat /proc/cpuinfo\n")
    m.uart.expect(r"(?s)cat /proc/cpuinfo.*?" + re.escape(PROMPT), timeout="1s")
    text = m.uart.text.replace("\r", "")
    assert "smp: Brought up 1 node, 4 CPUs" in text
    cpuinfo = text[text.rindex("cat /proc/cpuinfo"):]
    assert re.findall(r"^processor\s*: (\d)$", cpuinfo, re.M) == ["0", "1", "2", "3"]
    assert len(re.findall(r"^CPU part\s*: 0xd03$", cpuinfo, re.M)) == 4
    # Every core takes its own timer's PPI 30 and the IPIs (SGIs) the others send it.
    m.uart.send("cat /proc/interrupts\n")
    m.uart.expect(r"(?s)cat /proc/interrupts.*?" + re.escape(PROMPT), timeout="1s")
    table = m.uart.text.replace("\r", "")
    table = table[table.rindex("cat /proc/interrupts"):]
    for name in ("arch_timer", "Function call interrupts"):
        row = next(ln for ln in table.splitlines() if ln.rstrip().endswith(name))
        counts = [int(n) for n in row.split(":", 1)[1].split()[:4]]
        assert all(n > 0 for n in counts), row
    m.uart.send("poweroff -f\n")
    assert m.run(max_insns=400_000_000).exit_code == 0
