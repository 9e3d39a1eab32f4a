"""Bad input and misbehaving guests end with one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]   # the checkout


def emu(*args, cwd=ROOT):
    p = subprocess.run([sys.executable, "-m", "emu", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


BANNERS = ("emu: deterministic time:", "emu: realtime:")


def without_banner(stderr: str) -> list[str]:
    """stderr less the line that says which time mode a run uses."""
    return [l for l in stderr.splitlines() if l.strip() and not l.startswith(BANNERS)]


def one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = without_banner(stderr)
    assert len(lines) == 1, stderr
    assert lines[0].startswith("emu: ")
    return lines[0]


def test_not_an_elf(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hello\n")
    code, _, err = emu("run", f)
    assert code == 2
    assert "notes.txt" in one_line_error(err)


def test_missing_file(tmp_path):
    code, _, err = emu("run", tmp_path / "nope.elf")
    assert code == 2
    one_line_error(err)


def test_truncated_elf(built, tmp_path):
    f = tmp_path / "cut.elf"
    f.write_bytes(built["solo"].read_bytes()[:300])
    code, _, err = emu("run", f)
    assert code == 2
    one_line_error(err)


def test_foreign_machine_elf(tmp_path):
    host = shutil.which("true") or "/bin/true"
    code, _, err = emu("run", host)
    assert code == 2
    line = one_line_error(err)
    assert "AArch64" in line or "aarch64" in line or "machine" in line


def test_raw_image_outside_ram(tmp_path):
    f = tmp_path / "blob.bin"
    f.write_bytes(b"\x00" * 64)
    code, _, err = emu("run", f, "--raw", "0x10000000")
    assert code == 2
    assert "outside RAM" in one_line_error(err)


def test_image_that_does_not_fit_in_ram(built):
    code, _, err = emu("run", built["demo"], "--ram", "16M")
    assert code == 2
    one_line_error(err)


@pytest.mark.parametrize("image, expect", [
    ("bad_loop_vbar", "exception loop at EL2"),
    ("bad_undef_el2", "exception loop at EL2"),
    ("bad_jump_unmapped", "instruction fetch from unmapped address 0xc0000000"),
])
def test_crashing_guest_gets_diagnostic_and_exit_125(built, image, expect):
    code, _, err = emu("run", built[image])
    assert code == 125
    line = one_line_error(err)
    assert expect in line and "EL2" in line


def test_guest_exit_code_is_returned(built):
    code, out, err = emu("run", built["bad_exit_code"])
    assert code == 7 and "bye" in out and without_banner(err) == []
    assert err.startswith("emu: deterministic time: counter 62.5 MHz")


def test_trace_exceptions_goes_to_stderr_and_console_to_stdout(built):
    code, out, err = emu("run", built["solo"], "--trace", "exceptions")
    assert code == 0
    assert out.startswith("hyp: thin hypervisor v2, 1 tenant")
    assert all(re.match(r"^ *[0-9.]+us exc  EL[0-3]->EL[0-3] ", l) for l in without_banner(err))
    assert "EC_HVC64" in err


def test_unknown_trace_category(built):
    code, _, err = emu("run", built["solo"], "--trace", "bogus")
    assert code == 2
    assert "bogus" in one_line_error(err)


def test_run_hypervisor_with_tenants_from_the_command_line(built):
    code, out, _ = emu("run", built["hyp"], "--tenant", built["hello"], "--tenant", built["attacker_read"])
    assert code == 1
    assert "[hello] Hello from EL1" in out
    assert "hyp: tenant 1 (attacker_read): stage-2 violation" in out


def test_assembler_error_names_file_and_line(tmp_path):
    shutil.copytree(ROOT / "firmware" / "include", tmp_path / "firmware" / "include")
    (tmp_path / "images.toml").write_text('[image.bad]\nsource = "bad.s"\nbase = 0x40200000\n')
    (tmp_path / "bad.s").write_text('_start:\n    .include "board.inc"\n    nop\n    frobnicate x0\n')
    code, _, err = emu("build", "--root", tmp_path, "--out", tmp_path / "out", "bad", cwd=tmp_path)
    assert code == 2
    assert "bad.s:4:" in one_line_error(err)


def test_realtime_mode_is_announced(built):
    code, out, err = emu("run", built["solo"], "--time", "realtime")
    assert code == 0 and "emu: realtime:" in err


def test_semihosting_from_a_tenant_is_refused_unless_the_user_allows_it(built):
    code, out, err = emu("run", built["attack_semihost"])
    assert code == 0 and "semihosting calls refused: 5" in out
    # Allowed, the tenant dumps (its own) raw memory: read the console as bytes.
    p = subprocess.run([sys.executable, "-m", "emu", "run", str(built["attack_semihost"]),
                        "--semihosting-config", "userspace=on"], capture_output=True, timeout=120)
    assert p.returncode == 42 and b"hyp: all tenants stopped, 0 contained\n" in p.stdout


def test_semihosting_can_be_switched_off_at_the_boot_el_too(built):
    # Off, the hypervisor's own SYS_EXIT is an UNDEFINED instruction at EL2, as on a board
    # without a debugger attached: the run does not end with the guest's code.
    code, out, err = emu("run", built["solo"], "--semihosting-config", "enable=off", "--max-insns", "2000000")
    assert "hyp: all tenants stopped, 0 contained" in out
    assert code in (124, 125) and "Traceback" not in err


@pytest.mark.parametrize("opts", ["userspace=maybe", "enable", "target=native", "enable=on,,x=1"])
def test_bad_semihosting_config_is_one_line(built, opts):
    code, _, err = emu("run", built["solo"], "--semihosting-config", opts)
    assert code == 2 and "--semihosting-config" in one_line_error(err)
