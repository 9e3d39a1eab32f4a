"""Manager-call fuzzing (guest/fuzz_hypercalls.s as the manager of a system with a free pool):
random HYP_PART_INFO, HYP_MEM_GRANT/RECLAIM/RELEASE, HYP_CORE_GRANT/RECLAIM, HYP_TENANT_START/
STOP, HYP_SPI_MOVE and FF-A calls with random arguments, beside a victim (the counter tenant).

The manager may legitimately grant the victim memory, reclaim it, or stop it, so the victim's
lines need only be a prefix of what it prints alone. What must never happen: the hypervisor
panics or refuses its own manifest, the run hangs or crashes, a line carries no tenant tag, a
byte of the victim's memory reaches the console, or the run ends without the hypervisor's
closing line.
"""

from __future__ import annotations

import random
import struct
import tempfile
from pathlib import Path

from harness import Outcome, classify, run_cli

NAME = "manager"
LONG_CASES = 200
MAX_INSNS = 30_000_000
POOL = 0x600000

_system: dict[str, object] = {}
_victim_lines: list[str] = []
_victim_code = b""


def setup(built: dict[str, Path]) -> None:
    import lief

    from emu.build.elf import write_elf
    from emu.build.manifest import pack_system
    from emu.loader.elf import load_elf

    global _victim_lines, _victim_code
    hyp, counter, fuzzer = (load_elf(str(built[n])) for n in ("hyp", "counter", "fuzz_hypercalls"))
    system = pack_system(hyp, [("counter", counter, 0x200000, None),
                               ("fuzzer", fuzzer, 0x200000, None, (), (0,), None, True)],
                         name="fuzz_manager", quantum=62_500, pool=POOL)
    path = Path(tempfile.mkdtemp(prefix="fz_manager")) / "system.elf"
    write_elf(system, path)
    elf = lief.parse(str(path))
    _system.update(path=path, **{key: elf.virtual_address_to_offset(system.symbols[f"fuzzer:fuzz_{key}"])
                                 for key in ("seed", "count", "manager")})
    alone = run_cli(["run", str(built["hyp"]), "--tenant", str(built["counter"])], timeout=120)
    assert alone.code == 0, alone.stderr
    _victim_lines = [l for l in alone.stdout.decode().splitlines() if l.startswith("[counter]")]
    assert len(_victim_lines) == 6, _victim_lines
    _victim_code = counter.segments[0].data[:64]


def cases(rng: random.Random, n: int):
    for _ in range(n):
        yield {"seed": rng.getrandbits(64) | 1, "calls": rng.choice((50, 200, 400))}


def check(case, tmp: Path) -> Outcome:
    data = bytearray(Path(_system["path"]).read_bytes())
    for key, value in (("seed", case["seed"]), ("count", case["calls"]), ("manager", 1)):
        off = _system[key]
        data[off:off + 8] = struct.pack("<Q", value)
    elf = tmp / "system.elf"
    elf.write_bytes(bytes(data))
    proc = run_cli(["run", str(elf), "--max-insns", str(MAX_INSNS)], timeout=120)
    verdict = classify(proc, ok_codes=range(0, 256))
    if verdict.kind != "clean":
        return verdict
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    if proc.code == 124:
        return Outcome("hang", "the victim and the fuzzer did not finish within --max-insns")
    if any(l.startswith(("hyp: panic", "hyp: bad manifest")) for l in lines):
        return Outcome("leak", f"the hypervisor gave up: {[l for l in lines if l.startswith('hyp: ')][-3:]!r}")
    stray = [l for l in lines if not l.startswith(("hyp: ", "[counter] ", "[fuzzer] "))]
    if stray:
        return Outcome("leak", f"untagged line(s): {stray[:3]!r}")
    victim = [l for l in lines if l.startswith("[counter]")]
    if victim != _victim_lines[:len(victim)]:
        return Outcome("leak", f"the victim printed {victim!r}")
    closing = [l for l in lines if l.startswith("hyp: all tenants stopped")]
    if len(closing) != 1 or proc.code not in (0, 1, 2):
        return Outcome("leak", f"exit {proc.code}, closing lines {closing!r}")
    if _victim_code in proc.stdout:
        return Outcome("leak", "the victim's code appeared on the console")
    return Outcome("clean")
