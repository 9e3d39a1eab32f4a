"""Hypercall, SMC, semihosting and console fuzzing from a tenant (guest/fuzz_hypercalls.s).

Each case patches the fuzzing tenant's seed and call count into a copy of its ELF and runs it
under the shipped hypervisor beside a victim (the counter tenant), as a user would:
``emu run hyp.elf --tenant counter.elf --tenant fuzzer.elf``. Some cases allow semihosting below
the boot EL (``--semihosting-config userspace=on``), where the fuzzer may end the run itself.

Outcomes beyond the harness's usual verdict (see harness.py):
- leak: the victim's lines differ from what it prints alone, a line carries no tenant tag and
  is not the hypervisor's own, the closing hypervisor line is forged or missing, a byte of the
  victim's memory shows up in the output, or the run ends with an exit code nobody asked for.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

from harness import Outcome, classify, run_cli

NAME = "tenant"
LONG_CASES = 300
MAX_INSNS = 30_000_000

_images: dict[str, Path] = {}
_patch: dict[str, int] = {}
_victim_lines: list[str] = []
_victim_code = b""


def setup(built: dict[str, Path]) -> None:
    import lief

    global _victim_lines, _victim_code
    _images.update(hyp=built["hyp"], counter=built["counter"], fuzzer=built["fuzz_hypercalls"])
    elf = lief.parse(str(_images["fuzzer"]))
    syms = {s.name: s.value for s in elf.symbols}
    for name in ("fuzz_seed", "fuzz_count"):
        _patch[name] = elf.virtual_address_to_offset(syms[name])
    alone = run_cli(["run", str(_images["hyp"]), "--tenant", str(_images["counter"])], timeout=120)
    assert alone.code == 0, alone.stderr
    _victim_lines = [l for l in alone.stdout.decode().splitlines() if l.startswith("[counter]")]
    assert len(_victim_lines) == 6, _victim_lines
    # The victim's first instructions, which must never reach the console through the fuzzer.
    from emu.loader.elf import load_elf

    _victim_code = load_elf(str(_images["counter"])).segments[0].data[:64]


def cases(rng: random.Random, n: int):
    for _ in range(n):
        yield {"seed": rng.getrandbits(64) | 1, "calls": rng.choice((50, 200, 400)),
               "userspace": rng.random() < 0.25}


def check(case, tmp: Path) -> Outcome:
    data = bytearray(_images["fuzzer"].read_bytes())
    for name, value in (("fuzz_seed", case["seed"]), ("fuzz_count", case["calls"])):
        off = _patch[name]
        data[off:off + 8] = struct.pack("<Q", value)
    fuzzer = tmp / "fuzzer.elf"
    fuzzer.write_bytes(bytes(data))
    args = ["run", str(_images["hyp"]), "--tenant", str(_images["counter"]), "--tenant", str(fuzzer),
            "--max-insns", str(MAX_INSNS)]
    if case["userspace"]:
        args += ["--semihosting-config", "userspace=on"]
    proc = run_cli(args, timeout=120)
    verdict = classify(proc, ok_codes=range(0, 256))
    if verdict.kind != "clean":
        return verdict
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    if proc.code == 124:
        return Outcome("hang", "the victim and the fuzzer did not finish within --max-insns")
    finished = any(l.startswith("hyp: all tenants stopped") for l in lines)
    if case["userspace"]:
        # The user allowed the fuzzer's semihosting: it may write untagged text and end the run
        # with any code. Still, the victim's lines so far are its own, and none of its memory
        # reaches the console.
        return _check_lines(lines, finished, proc.stdout, proc.code, tagged_only=False)
    if not finished or proc.code not in (0, 1):
        return Outcome("leak", f"exit {proc.code} without the hypervisor's closing line; "
                               f"stderr: {proc.stderr[-400:]!r}")
    return _check_lines(lines, finished, proc.stdout, proc.code)


def _check_lines(lines: list[str], finished: bool, out: bytes, contained: int,
                 tagged_only: bool = True) -> Outcome:
    stray = [l for l in lines if not l.startswith(("hyp: ", "[counter] ", "[fuzzer] "))]
    if tagged_only and stray:
        return Outcome("leak", f"untagged line(s): {stray[:3]!r}")
    # Semihosting text (allowed in userspace cases) may run into the start of a victim's line.
    victim = [l[l.index("[counter]"):] for l in lines if "[counter]" in l] if not tagged_only \
        else [l for l in lines if l.startswith("[counter]")]
    if finished and victim != _victim_lines or victim != _victim_lines[:len(victim)]:
        return Outcome("leak", f"the victim printed {victim!r}")
    closing = [l for l in lines if l.startswith("hyp: all tenants stopped")]
    if finished and closing != [f"hyp: all tenants stopped, {contained} contained"]:
        return Outcome("leak", f"closing lines {closing!r}")
    if finished and "hyp: tenant 0 (counter): system off" not in lines:
        return Outcome("leak", "the victim did not power off")
    if _victim_code in out:
        return Outcome("leak", "the victim's code appeared on the console")
    return Outcome("clean")
