"""The pytest plugin as a firmware team uses it: the machine fixture, UART expectations in
virtual time, trap counters, forks from a booted state, and failure reports."""

from __future__ import annotations

import pytest

from emu.pytest_plugin import ExpectTimeout, parse_virtual_time

pytest_plugins = ["pytester"]


def test_expect_lines_then_run_to_the_exit_code(machine):
    m = machine("demo")
    assert m.uart.expect(r"\[hello\] Hello from EL1", timeout="1ms")
    match = m.uart.expect(r"tenant (\d) \((\w+)\): stage-2 violation", timeout="1ms")
    assert match.group(2) == "attacker_read"
    m.uart.expect(r"\[counter\] count 5")
    assert m.run().exit_code == 1 and m.exit_code == 1
    assert m.traps["EC_HVC64"] > 10 and m.traps["EC_DABT_LOW"] > 100


def test_expect_times_out_in_virtual_time(machine):
    m = machine("rtos_demo_a", el=1)
    with pytest.raises(ExpectTimeout, match="virtual time"):
        m.uart.expect(r"\[periodic\] tick 30", timeout="50ms")   # the 30th tick is at 300 ms
    m.uart.expect(r"\[periodic\] tick 30", timeout="1s")
    assert m.m.clock.now() >= parse_virtual_time("300ms")


def test_expect_reports_a_guest_that_ended_the_run(machine):
    m = machine("solo")
    with pytest.raises(ExpectTimeout, match="ended the run"):
        m.uart.expect("never printed", timeout="1s")


def test_fork_from_a_booted_state(machine):
    m = machine("demo")
    m.uart.expect(r"\[counter\] count 2", timeout="1ms")
    a = machine.fork(m)
    b = machine.fork(m)
    assert a.run().exit_code == b.run().exit_code == m.run().exit_code == 1
    rest = m.m.console.text[m.uart.pos:]
    assert a.uart.text == b.uart.text and rest.endswith(a.uart.text) and "all tenants stopped" in a.uart.text


def test_virtual_time_parsing():
    assert parse_virtual_time("2ms") == 125_000
    assert parse_virtual_time(0.5) == 31_250_000


def test_failure_report_carries_console_and_trace(pytester):
    pytester.makepyfile("""
        def test_boot(machine):
            m = machine("solo")
            m.uart.expect("Hello from EL1")
            m.uart.expect("this line never comes", timeout="20ms")
    """)
    result = pytester.runpytest()  # the plugin is found through its entry point
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "emu console: solo" in out and "[hello] Hello from EL1" in out
    assert "emu trace, last" in out and "EC_HVC64" in out
    assert "console never matched 'this line never comes'" in out


def test_send_between_expects(machine):
    m = machine("echo")
    m.uart.expect(r"echo: ready", timeout="1ms")
    m.uart.send(b"first line\n")
    m.uart.expect(r"echo: first line\n", timeout="1ms")
    m.uart.send("second\n\x04")   # a str goes as UTF-8; EOT ends the echo guest
    m.uart.expect(r"echo: second\n", timeout="1ms")
    assert m.run().exit_code == 0 and m.uart.pending == 0
    assert m.uart.text.endswith("echo: bye\n")


def test_send_before_the_guest_runs_survives_its_uart_init(machine):
    # The echo guest disables the UART and sets UARTLCR_H.FEN (a FIFO flush) before it reads.
    m = machine("echo")
    m.uart.send(b"x" * 100 + b"\n\x04")
    assert m.uart.pending == 100 + 2   # the receiver is off until the guest enables it
    m.uart.expect("echo: " + "x" * 100 + "\n", timeout="1ms")
    assert m.run().exit_code == 0


def test_sent_input_still_waiting_goes_with_a_fork(machine):
    m = machine("echo")
    m.uart.send(b"".join(b"line %d\n" % i for i in range(40)) + b"\x04")
    m.uart.expect(r"echo: line 3\n", timeout="1ms")
    assert m.uart.pending > 0
    a, b = machine.fork(m), machine.fork(m)
    assert a.run().exit_code == b.run().exit_code == m.run().exit_code == 0
    rest = m.uart.text[m.uart.pos:]
    assert a.uart.text == b.uart.text and rest.endswith(a.uart.text) and "echo: line 39\n" in rest


def test_kernel_goes_alone_and_initrd_needs_it(machine):
    from emu.errors import EmuError

    with pytest.raises(EmuError, match="kernel= goes without"):
        machine("hello", kernel="vmlinuz")
    with pytest.raises(EmuError, match="go with kernel="):
        machine("hello", append="console=ttyAMA0")
