"""Starting and stopping tenants (manifests/lifecycle.toml, docs/dynamic.md): the manifest leaves
"late" stopped (start = false); the manager starts it, it runs, the manager stops it and it runs no
more. A tenant that has run cannot start again, and the manager does not stop itself this way."""

from __future__ import annotations

import io
import re

from emu.loader.elf import load_elf


def test_the_manager_starts_a_tenant_the_manifest_left_stopped_and_stops_it(built):
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(load_elf(str(built["lifecycle"])))
    result = m.run(max_insns=100_000_000)
    assert result.exit_code == 0 and result.diagnostic is None, result
    lines = [line for line in m.console.text.splitlines() if not line.startswith(("hyp: thin", "hyp: pre"))]
    lines = lines[2:]                                       # the two partitions
    ticks = [line for line in lines if line.startswith("[late] tick")]
    assert ticks == [f"[late] tick {n}" for n in range(1, len(ticks) + 1)] and 2 <= len(ticks) < 10
    assert [line for line in lines if not line.startswith("[late] tick")] == [
        "[starter] late: state 0",                          # TS_NONE: not started
        "hyp: tenant 1 (late): started by the manager",
        "[starter] start late: 0",
        "[starter] late: state 1",
        "[late] started",
        "hyp: tenant 1 (late): stopped by the manager",
        "[starter] stop late: 0",
        "[starter] late: state 2",                          # TS_OFF
        "[starter] start late again: -2",
        "[starter] stop myself: -2",
        "hyp: tenant 0 (starter): system off",
        "hyp: all tenants stopped, 0 contained",
    ]
    # Nothing of late after its stop.
    stop = lines.index("hyp: tenant 1 (late): stopped by the manager")
    assert not any(re.match(r"\[late\]", line) for line in lines[stop:])
