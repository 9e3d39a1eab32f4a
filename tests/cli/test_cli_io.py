"""Options, inputs and outputs the user gets wrong, and outputs that fail under the run: one
``emu:`` line naming what failed, a non-zero exit, nothing lost, no hang, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_cli_errors import emu, one_line_error, without_banner
from unicorn import UC_ERR_ARG, UcError

ROOT = Path(__file__).resolve().parents[2]   # the checkout


def emu_bytes(*args, stdin=subprocess.DEVNULL, **kw):
    p = subprocess.run([sys.executable, "-m", "emu", *map(str, args)], cwd=ROOT, capture_output=True,
                       timeout=120, stdin=stdin, **kw)
    return p.returncode, p.stdout, p.stderr.decode()


@pytest.mark.parametrize("ram, says", [
    ("1", "4 KiB"), ("1000", "4 KiB"), ("4097", "4 KiB"), ("0", "RAM"), ("64G", "RAM"),
    ("1.0000001G", "not a whole number of bytes"), ("-1", "cannot be negative"),
    ("99999999999999999999999", "too large"), ("0x10000000000000000", "too large"), ("lots", "not a size"),
    ("1e9", "not a size"), ("nan", "not a size"),
])
def test_a_ram_size_the_machine_cannot_have_is_one_line(built, ram, says):
    code, _, err = emu("run", built["solo"], f"--ram={ram}", "--max-insns", "1000")
    assert code == 2
    line = one_line_error(err)
    assert says in line and "Errno" not in line


@pytest.mark.parametrize("ram", ["512M", "0.5G", "524288K", "0x20000000", "512MiB"])
def test_ram_sizes_in_any_spelling(built, ram):
    code, out, err = emu("run", built["solo"], "--ram", ram)
    assert code == 0 and "all tenants stopped" in out


@pytest.mark.parametrize("option", [["--max-insns", "-5"], ["--max-insns", str(1 << 60)],
                                    ["--snapshot-at", "-5", "x.snap"], ["--snapshot-at", "0", "x.snap"],
                                    ["--bogus"]])
def test_impossible_options_are_one_line(built, tmp_path, option):
    code, _, err = emu("run", built["solo"], *option, cwd=tmp_path)
    assert code == 2
    one_line_error(err)
    assert not (tmp_path / "x.snap").exists()


@pytest.mark.parametrize("text", ["\\x", "\\x4", "\\u12", "\\u1234", "\\N{nonsense}"])
def test_bad_escapes_in_input_are_one_line(built, text):
    code, _, err = emu("run", built["solo"], "--input", text)
    assert code == 2 and "--input" in one_line_error(err)


def test_input_escapes_and_utf8_reach_the_uart(built):
    from emu.cli import _read_input

    assert _read_input("a\\x00\\n\\\\é") == b"a\x00\n\\\xc3\xa9"


@pytest.mark.parametrize("how", ["@/dev/zero", "stdin"])
def test_endless_input_is_refused_at_its_bound(built, how):
    with open("/dev/zero", "rb") as zero:
        code, _, err = emu_bytes("run", built["solo"], "--input", how if how != "stdin" else "-",
                                 stdin=zero if how == "stdin" else subprocess.DEVNULL)
    assert code == 2 and "more than 16 MiB" in one_line_error(err)


def test_input_from_a_directory_is_one_line(built, tmp_path):
    code, _, err = emu("run", built["solo"], "--input", f"@{tmp_path}")
    assert code == 2 and "Is a directory" in one_line_error(err)


def test_closed_stdout_is_one_line_unless_the_console_has_a_file(built, tmp_path):
    closed = {"preexec_fn": lambda: os.close(1), "stdout": None}
    p = subprocess.run([sys.executable, "-m", "emu", "run", str(built["solo"])], cwd=ROOT, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=120, text=True, **closed)
    assert p.returncode == 2 and "stdout is closed" in one_line_error(p.stderr)
    console = tmp_path / "c.txt"
    p = subprocess.run([sys.executable, "-m", "emu", "run", str(built["solo"]), "--console-file", str(console)],
                       cwd=ROOT, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120, text=True, **closed)
    assert p.returncode == 0 and without_banner(p.stderr) == []
    assert console.read_text().endswith("all tenants stopped, 0 contained\n")


def test_a_full_console_file_is_named_and_stdout_stays_complete(built):
    _, full, _ = emu_bytes("run", built["solo"])
    code, out, err = emu_bytes("run", built["solo"], "--console-file", "/dev/full")
    assert code == 2 and out == full
    line = one_line_error(err)
    assert line.startswith("emu: /dev/full: No space left on device") and "code 0" in line


def test_a_full_trace_file_is_named(built):
    code, out, err = emu_bytes("run", built["solo"], "--trace", "exceptions", "--trace-file", "/dev/full")
    assert code == 2 and out.endswith(b"all tenants stopped, 0 contained\n")
    assert one_line_error(err).startswith("emu: /dev/full: No space left on device")


def test_a_full_stdout_stops_the_run_with_one_line(built):
    with open("/dev/full", "wb") as full:
        p = subprocess.run([sys.executable, "-m", "emu", "run", str(built["solo"])], cwd=ROOT, stdout=full,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120, text=True)
    assert p.returncode == 2
    assert one_line_error(p.stderr) == "emu: stdout: No space left on device; the run was stopped"


def test_a_reader_that_goes_away_stops_the_run_with_141(built):
    p = subprocess.Popen([sys.executable, "-m", "emu", "run", str(built["demo"])], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    p.stdout.read(10)
    p.stdout.close()     # as `emu run ... | head -c 10`
    err = p.stderr.read().decode()
    assert p.wait(120) == 141
    assert one_line_error(err) == "emu: stdout: Broken pipe; the run was stopped"


@pytest.mark.parametrize("option", [["--console-file"], ["--trace", "exceptions", "--trace-file"], ["--timeline"],
                                    ["--snapshot-at", "1000"]])
def test_a_fifo_with_no_reader_as_output_is_one_line_not_a_hang(built, tmp_path, option):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code, _, err = emu("run", built["solo"], *option, fifo)
    assert code == 2 and "nothing is reading this FIFO" in one_line_error(err)


def test_a_fifo_with_a_reader_gets_the_console(built, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = bytearray()

    def read():
        with open(fifo, "rb") as f:
            got.extend(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # The reader may not have opened yet when emu does: retry, as a user would.
    for _ in range(50):
        code, out, err = emu_bytes("run", built["solo"], "--console-file", fifo)
        if code != 2:
            break
    reader.join(30)
    assert code == 0 and bytes(got) == out


@pytest.mark.parametrize("option", [["--timeline"], ["--snapshot-at", "1000"]])
def test_a_whole_file_output_replaces_the_old_one_only_when_complete(built, tmp_path, option):
    target = tmp_path / "out"
    target.write_bytes(b"earlier")
    code, _, err = emu("run", built["solo"], *option, target, "--ram", "1")   # fails before the run
    assert code == 2 and target.read_bytes() == b"earlier"
    code, _, err = emu("run", built["solo"], *option, target)
    assert code == 0 and target.read_bytes() != b"earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_output_to_a_directory_is_one_line(built, tmp_path):
    code, _, err = emu("run", built["solo"], "--console-file", tmp_path)
    assert code == 2 and "Is a directory" in one_line_error(err)


@pytest.fixture(scope="module")
def exit_with(tmp_path_factory):
    """A raw EL2 program that ends with semihosting SYS_EXIT (ApplicationExit) and a code."""
    from emu.build.asm import assemble

    d = tmp_path_factory.mktemp("exit")

    def make(code: int):
        src = d / f"exit{code}.s"
        src.write_text('    .include "board.inc"\n    .include "smccc.inc"\n_start:\n'
                       "    adr x1, block\n    mov w0, #SEMIHOST_SYS_EXIT\n    hlt #0xf000\nhang:\n    b hang\n"
                       f"    .balign 16\nblock:\n    .quad 0x20026, {code}\n")
        image = assemble(src, 0x40200000, [ROOT / "firmware" / "include"])
        out = d / f"exit{code}.bin"
        out.write_bytes(b"".join(s.data for s in image.segments))
        return out

    return make


@pytest.mark.parametrize("code", [2, 124, 125, 130, 141, 143])
def test_a_guest_exit_code_the_emulator_also_uses_is_named(exit_with, code):
    got, _, err = emu("run", exit_with(code), "--raw", "0x40200000")
    assert got == code and without_banner(err) == [f"emu: guest exited with code {code}"]


@pytest.mark.parametrize("code", [0, 1, 3, 7, 255])
def test_other_guest_exit_codes_are_quiet(exit_with, code):
    got, _, err = emu("run", exit_with(code), "--raw", "0x40200000")
    assert got == code and without_banner(err) == []


@pytest.mark.parametrize("error, ram, says", [
    (lambda: UcError(UC_ERR_ARG), "4097", "whole number of 4 KiB pages"),
    (lambda: UcError(UC_ERR_ARG), "4K", "Invalid argument (UC_ERR_ARG)"),
    (lambda: OSError(12, "Cannot allocate memory"), "64G", "cannot give it 64 GiB"),
    (lambda: OverflowError("Python int too large to convert to C ssize_t"), "1T", "cannot give it 1 TiB"),
])
def test_whatever_the_machine_raises_for_a_ram_size_is_one_line(built, monkeypatch, capsys, error, ram, says):
    # Whatever layer refuses the size (the board's check, Unicorn, mmap), the user gets a line.
    import emu.machine
    from emu.cli import main

    def refuse(*_a, **_k):
        raise error()

    monkeypatch.setattr(emu.machine, "Machine", refuse)
    assert main(["run", str(built["solo"]), "--ram", ram]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith("emu: --ram ") and says in line


def test_input_file_reaches_the_guest_whole(built, tmp_path):
    # More than the receive FIFO holds, queued before the guest's UART init flushes the FIFO.
    text = b"".join(b"input line %d\n" % i for i in range(50))
    (tmp_path / "in.txt").write_bytes(text + b"\x04")
    code, out, _ = emu_bytes("run", built["echo"], "--input", f"@{tmp_path / 'in.txt'}")
    assert code == 0
    assert out == b"echo: ready\n" + b"".join(b"echo: " + l + b"\n" for l in text.splitlines()) + b"echo: bye\n"


def test_stdin_from_a_terminal_is_read_as_the_guest_asks(built):
    import pty
    import select
    import signal

    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "emu", "run", built["echo"], "--input", "-"], cwd=ROOT,
                         stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(slave)
    try:
        out = b""
        deadline = time.monotonic() + 60
        while b"echo: ready\n" not in out and time.monotonic() < deadline:   # booted, polling
            if select.select([p.stdout], [], [], 1)[0]:
                out += os.read(p.stdout.fileno(), 4096)
        os.write(master, b"typed\n")   # the terminal hands over the line at Enter
        while b"echo: typed\n" not in out and time.monotonic() < deadline:
            if select.select([p.stdout], [], [], 1)[0]:
                out += os.read(p.stdout.fileno(), 4096)
        p.send_signal(signal.SIGINT)
        rest, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
    assert (out + rest).startswith(b"echo: ready\necho: typed\n") and p.returncode == 130
