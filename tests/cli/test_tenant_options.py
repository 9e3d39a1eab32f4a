"""``emu run HYP --tenant [NAME=]FILE``, ``--tenant-irqs`` and ``--time-slice``: a system packed at
load time, with the names, SPIs and time slice a manifest would give it, checked as a manifest's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import boot

ROOT = Path(__file__).resolve().parents[2]
MAX_INSNS = "50000000"


def emu(*args):
    p = subprocess.run([sys.executable, "-m", "emu", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def one_error(code: int, stderr: str) -> str:
    """The one ``emu:`` line of a refused command line (exit 2), less the time banner."""
    lines = [l for l in stderr.splitlines() if l.strip() and not l.startswith(("emu: deterministic", "emu: realtime"))]
    assert code == 2 and "Traceback" not in stderr and len(lines) == 1, stderr
    assert lines[0].startswith("emu: ")
    return lines[0]


def test_a_31_character_name_tags_the_tenants_lines(built):
    name = "a_tenant_name_of_31_characters_"[:31]
    assert len(name) == 31
    code, out, err = emu("run", built["hyp"], "--tenant", f"{name}={built['hello']}", "--max-insns", MAX_INSNS)
    assert code == 0, err
    lines = out.splitlines()
    assert f"hyp: tenant 0 ({name}): system off" in lines
    assert f"[{name}] Hello from EL1" in lines


def test_a_32_character_name_is_refused_in_one_line(built):
    name = "n" * 32
    code, out, err = emu("run", built["hyp"], "--tenant", f"{name}={built['hello']}")
    assert one_error(code, err) == (f"emu: --tenant {name}={built['hello']}: tenant name '{'n' * 32}' is 32 "
                                    "characters; at most 31")
    assert out == ""


def test_a_file_given_twice_gets_two_names(built):
    code, out, err = emu("run", built["hyp"], "--tenant", built["counter"], "--tenant", built["counter"],
                         "--max-insns", MAX_INSNS)
    lines = out.splitlines()
    assert "hyp: tenant 0 (counter): IPA 0x40000000-0x401fffff PA 0x41000000 entry 0x40000000" in lines
    assert "hyp: tenant 1 (counter.1): IPA 0x40000000-0x401fffff PA 0x42000000 entry 0x40000000" in lines
    assert "[counter] count 1" in lines and "[counter.1] count 1" in lines


def test_a_given_name_keeps_and_the_stem_steps_aside(built):
    code, out, _ = emu("run", built["hyp"], "--tenant", built["hello"], "--tenant", f"hello={built['counter']}",
                       "--max-insns", MAX_INSNS)
    lines = out.splitlines()
    assert "[hello.1] Hello from EL1" in lines and "[hello] count 1" in lines


def test_time_slice_preempts_a_spinning_tenant_as_the_manifest_does(built):
    """irq.toml at load time: the same images, names and 2 ms slice give the same transcript."""
    code, out, err = emu("run", built["hyp"], "--tenant", f"ticker={built['irq_tick']}",
                         "--tenant", f"sleeper={built['irq_sleep']}", "--tenant", f"spinner={built['irq_spin']}",
                         "--time-slice", "2ms")
    assert code == 0, err
    lines = out.splitlines()
    assert "hyp: preemptive round robin, time slice 125000 counter ticks" in lines
    assert not any("without yielding" in l for l in lines)       # the slice, not the watchdog
    spin_done = lines.index("[spinner] done spinning: preempted, never yielded")
    assert lines.index("[ticker] tick 5") < spin_done
    m, _, _ = boot(built["irq"])
    assert out == m.console.text


def test_tenant_irqs_are_given_and_shown(built):
    code, out, err = emu("run", built["hyp"], "--tenant", built["hello"], "--tenant-irqs", "hello=48,0x31",
                         "--max-insns", MAX_INSNS)
    assert code == 0, err
    assert ("hyp: tenant 0 (hello): IPA 0x40000000-0x401fffff PA 0x41000000 entry 0x40000000 irqs 48 49"
            in out.splitlines())


@pytest.mark.parametrize("args,message", [
    (["--tenant", "hyp]x={hello}"], "emu: --tenant hyp]x={hello}: tenant name 'hyp]x' is not 1 to 31 of "
                                     "A-Z a-z 0-9 _ . -"),
    (["--tenant", "a={hello}", "--tenant", "a={counter}"], "emu: --tenant a={counter}: name 'a' is given to two "
                                                           "tenants"),
    (["--tenant", "x="], "emu: --tenant x=: give NAME=FILE (no file after '=')"),
    (["--tenant", "{hello}", "--tenant-irqs", "hello=33"], "emu: system: tenant 'hello': irq 33 is the SPI of "
                                                           "board virt's device uart0, not a tenant's"),
    (["--tenant", "{hello}", "--tenant-irqs", "hello=27"], "irq 27 is not an SPI the manifest can assign (32..95)"),
    (["--tenant", "{hello}", "--tenant-irqs", "nobody=48"], "emu: --tenant-irqs nobody=48: no tenant 'nobody' "
                                                            "(tenants: hello)"),
    (["--tenant", "{hello}", "--tenant-irqs", "hello=4x"], "emu: --tenant-irqs hello=4x: '4x' is not a comma list"),
    (["--tenant", "{hello}", "--tenant", "{counter}", "--tenant-irqs", "hello=48", "--tenant-irqs", "counter=48"],
     "irq 48 is already given to tenant 'hello'"),
    (["--tenant", "{hello}", "--time-slice", "2"], "emu: --time-slice '2': give a duration with a unit"),
    (["--tenant", "{hello}", "--time-slice", "11s"], "emu: --time-slice '11s': at most 10 s"),
    (["--tenant", "{hello}", "--time-slice", "1.5us"], "not a whole number of microseconds"),
    (["--time-slice", "2ms"], "emu: --time-slice goes with --tenant"),
])
def test_bad_tenant_options_are_one_line(built, args, message):
    args = [a.format(hello=built["hello"], counter=built["counter"]) for a in args]
    message = message.format(hello=built["hello"], counter=built["counter"])
    code, out, err = emu("run", built["hyp"], *args)
    assert message in one_error(code, err)


def test_time_slice_units():
    from emu.build.manifest import parse_time_slice

    assert [parse_time_slice(t) for t in ("2ms", "500us", "1s", "0", "0.5ms", "10s")] == [
        2000, 500, 1_000_000, 0, 500, 10_000_000]
