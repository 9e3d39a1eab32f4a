"""Trace categories, JSON lines, and the Chrome/Perfetto timeline of the shipped demo."""

from __future__ import annotations

import io
import json

import pytest
from conftest import boot

from emu.debug.timeline import Timeline
from emu.errors import EmuError


def test_json_trace_lines_are_records_with_virtual_time(built):
    from emu.debug.trace import Tracer
    from emu.loader.elf import load_elf
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    out = io.StringIO()
    Tracer(m, "exceptions,hypercalls,tenants,mmio", out, "json")
    m.load(load_elf(str(built["demo"])))
    assert m.run().exit_code == 1
    recs = [json.loads(l) for l in out.getvalue().splitlines()]
    kinds = {r["event"] for r in recs}
    assert kinds == {"exception", "hypercall", "tenant", "mmio"}
    times = [r["t_ns"] for r in recs]
    assert times == sorted(times) and times[-1] > 0
    calls = [r["name"] for r in recs if r["event"] == "hypercall"]
    assert "HYP_YIELD" in calls and "PSCI_SYSTEM_OFF" in calls
    switches = [(r["previous"], r["tenant"]) for r in recs if r["event"] == "tenant"]
    assert (None, "hello") == switches[0] and ("hello", "counter") in switches
    uart = [r for r in recs if r["event"] == "mmio" and r["device"] == "uart0" and r["op"] == "write"]
    assert uart and all(r["register"] == "DR" for r in uart)


def test_unknown_category_is_refused():
    from emu.debug.trace import parse_categories

    with pytest.raises(EmuError):
        parse_categories("exceptions,bogus")
    assert parse_categories("tenant,interrupts") == {"tenants", "irq"}


def _check_chrome_trace(doc: dict) -> None:
    """The subset of the trace-event format Perfetto and chrome://tracing need."""
    assert set(doc) >= {"traceEvents"}
    for e in doc["traceEvents"]:
        assert e["ph"] in ("M", "X", "i", "B", "E")
        assert isinstance(e["pid"], int) and isinstance(e["name"], str)
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name") and isinstance(e["args"]["name"], str)
            continue
        assert isinstance(e["tid"], int)
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        if e["ph"] == "X":
            assert isinstance(e["dur"], (int, float)) and e["dur"] >= 0
        if e["ph"] == "i":
            assert e["s"] in ("g", "p", "t")


def test_timeline_of_the_demo_is_a_valid_chrome_trace(built, tmp_path):
    from emu.loader.elf import load_elf
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(load_elf(str(built["demo"])))
    tl = Timeline(m)
    tl.hook_erets()
    m.run()
    path = tmp_path / "t.json"
    tl.write(str(path))
    doc = json.loads(path.read_text())
    _check_chrome_trace(doc)
    spans = [e for e in doc["traceEvents"] if e["ph"] == "X" and e["tid"] == 0]
    names = {e["name"] for e in spans}
    assert {"EL2 hyp", "EL1 hello", "EL1 counter", "EL1 attacker_read"} <= names
    traps = [e for e in doc["traceEvents"] if e["ph"] == "X" and e["tid"] == 1]
    assert {"EC_HVC64", "EC_DABT_LOW"} <= {e["name"] for e in traps}
    # Spans on the EL track follow each other without overlapping.
    for a, b in zip(spans, spans[1:]):
        assert b["ts"] >= a["ts"] + a["dur"] - 1e-6


def test_same_run_gives_the_same_timeline(built, tmp_path):
    from emu.loader.elf import load_elf
    from emu.machine import Console, Machine

    docs = []
    for i in range(2):
        m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
        m.load(load_elf(str(built["demo"])))
        tl = Timeline(m)
        tl.hook_erets()
        m.run()
        docs.append(tl.finish())
    assert docs[0] == docs[1]
