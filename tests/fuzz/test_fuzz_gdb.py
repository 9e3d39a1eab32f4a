"""A fixed, seeded slice of the GDB remote-protocol fuzz suite (fz_gdb.py): bursts of malformed
and random packets against a real ``emu debug``, which must keep answering and exit cleanly."""

import os
import signal

import fz_gdb
import harness


def test_gdb_server_survives_malformed_packets_and_exits_cleanly(fuzz_run):
    # Seed 0 includes resumes at PC 1 with packets and Ctrl-C behind them: before the server
    # looked for Ctrl-C behind queued packets, two of these cases hung.
    figs = fuzz_run(fz_gdb, seed=0, n=240)
    harness.assert_clean(figs)
    assert figs.tried == 240


def test_a_server_that_stops_answering_is_a_hang_and_is_not_left_behind(fuzz_run, monkeypatch):
    # The suite must be able to fail: freeze the server process before its first probe.
    probe = fz_gdb._Server.probe
    frozen = []

    def freeze_then_probe(server):
        os.kill(server.proc.pid, signal.SIGSTOP)
        frozen.append(server.proc)
        probe(server)

    monkeypatch.setattr(fz_gdb, "GUARD_S", 1.0)
    monkeypatch.setattr(fz_gdb._Server, "probe", freeze_then_probe)
    figs = fuzz_run(fz_gdb, seed=0, n=1)
    assert figs.counts["hang"] == 1 and "no reply within the guard" in figs.examples["hang"][1]
    assert fz_gdb._server is None and frozen[0].poll() is not None  # killed, not left behind
