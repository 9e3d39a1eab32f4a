"""The ``emu`` command: build images, run them headless, run the demo and the benchmarks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import EmuError


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().rstrip("ib")
    try:
        if t and t[-1] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(t, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 512M or 1G)") from None


DEMO_SYSTEM = "rtos"  # manifests/rtos.toml: two RTOS tenants and an attacker


def project_root() -> Path:
    """The source tree holding images.toml: the working directory or one above it, else the
    checkout this package was installed from (``pip install -e``)."""
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "images.toml").is_file():
            return d
    d = Path(__file__).resolve().parents[1]
    if (d / "images.toml").is_file():
        return d
    raise EmuError("cannot find the project sources (images.toml); run from the checkout")


def _load_image(path: str, raw_addr: int | None):
    from .loader.elf import load_elf
    from .loader.raw import load_raw

    if raw_addr is not None:
        return load_raw(path, raw_addr)
    return load_elf(path)


def _add_machine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--board", default="virt", help="board name or TOML file (default: virt)")
    p.add_argument("--ram", type=_size, default=None, help="RAM size, e.g. 512M (default: the board's)")
    p.add_argument("--max-insns", type=_int, default=None, metavar="N",
                   help="stop after N instructions (exit code 124)")
    p.add_argument("--trace", default="", metavar="CATS", help="comma list of trace categories: exceptions, irq, hypercalls, mmio, tenants")
    p.add_argument("--trace-format", choices=("text", "json"), default="text")
    p.add_argument("--trace-file", default=None, metavar="FILE", help="write the trace here (default: stderr)")
    p.add_argument("--timeline", default=None, metavar="FILE",
                   help="write a Chrome/Perfetto trace of ELs, tenants, traps and interrupts")
    p.add_argument("-d", "--log", default="", metavar="KINDS",
                   help="device log kinds to show: guest_errors,unimp (as QEMU's -d)")
    p.add_argument("--el", type=int, choices=(1, 2), default=2,
                   help="exception level to start at: 2 (virtualization on, default) or 1, as "
                        "qemu -M virt without virtualization=on")
    p.add_argument("--time", choices=("deterministic", "realtime"), default="deterministic",
                   help="deterministic: the counter follows retired instructions (default); "
                        "realtime: it follows the host clock (faster)")
    p.add_argument("--input", default=None, metavar="TEXT|@FILE", help="bytes for the UART to receive: TEXT (escapes allowed), @FILE, or - for stdin")
    p.add_argument("--console-file", default=None, metavar="FILE", help="also write the console here")


def _make_machine(args):
    from .debug.trace import Tracer
    from .machine import Console, Machine

    out = sys.stdout.buffer
    console = Console(out)
    if args.console_file:
        f = open(args.console_file, "wb")
        console.listeners.append(f.write)
    m = Machine(args.board, ram_size=args.ram, console=console, time_mode=args.time, start_el=args.el)
    sys.stderr.write(_time_banner(m) + "\n")
    m.log_kinds = {k.strip().rstrip("s") for k in args.log.split(",") if k.strip()}
    if args.trace.strip():
        stream = open(args.trace_file, "w") if args.trace_file else sys.stderr
        Tracer(m, args.trace, stream, args.trace_format)
    if args.input:
        if args.input == "-":
            data = sys.stdin.buffer.read()
        elif args.input.startswith("@"):
            data = Path(args.input[1:]).read_bytes()
        else:
            data = args.input.encode().decode("unicode_escape").encode("latin-1")
        uart = m.devices.get("uart0")
        if uart is not None:
            uart.push_rx(data)
    return m


def _time_banner(m) -> str:
    from .cpu.clock import COUNTER_HZ, INSNS_PER_TICK

    if m.clock.mode == "deterministic":
        return (f"emu: deterministic time: counter {COUNTER_HZ / 1e6:g} MHz, advancing one tick per "
                f"{INSNS_PER_TICK} instructions (a 1 GHz virtual core)")
    return f"emu: realtime: counter {COUNTER_HZ / 1e6:g} MHz following the host clock (not reproducible)"


def _report(result) -> int:
    if result.diagnostic:
        sys.stderr.write(f"emu: {result.reason}: {result.diagnostic}\n")
    return result.exit_code


def cmd_run(args) -> int:
    if args.restore:
        if args.image or args.tenant:
            raise EmuError("--restore starts from the snapshot: give no IMAGE or --tenant with it")
        from .snapshot import restore

        m = _make_machine(args)
        restore(m, args.restore)
        return _run(m, args)
    if not args.image:
        raise EmuError("run: give an IMAGE (or --restore FILE)")
    image = _load_image(args.image, args.raw)
    if args.tenant:
        from .build.manifest import pack_system

        tenants = [(Path(t).stem, _load_image(t, None), args.tenant_memory, None) for t in args.tenant]
        image = pack_system(image, tenants)
    m = _make_machine(args)
    m.load(image)
    if args.snapshot_at:
        _snapshot_when(m, *args.snapshot_at)
    return _run(m, args)


def _snapshot_when(m, trigger: str, path: str) -> None:
    """Arrange the first part of a run to stop at the trigger; _run saves and goes on."""
    import re

    try:
        m.snapshot_plan = ("insns", int(trigger, 0), path)
        return
    except ValueError:
        pass
    try:
        pattern = re.compile(trigger)
    except re.error as err:
        raise EmuError(f"--snapshot-at: bad regular expression {trigger!r}: {err}") from None
    m.snapshot_plan = ("regex", pattern, path)

    def watch(_data: bytes) -> None:
        if m.snapshot_plan is not None and pattern.search(m.console.text):
            m.pause("snapshot")

    m.console.listeners.append(watch)


def cmd_debug(args) -> int:
    args.gdb = args.gdb or ":1234"
    return cmd_run(args)


def _run(m, args) -> int:
    """Run a loaded machine as the options say; write the timeline, report, return the code."""
    if getattr(args, "gdb", None):
        from .debug.gdbstub import serve_gdb

        return serve_gdb(m, args.gdb, max_insns=args.max_insns)
    timeline = None
    if args.timeline:
        from .debug.timeline import Timeline

        timeline = Timeline(m)
        timeline.hook_erets()
    plan = getattr(m, "snapshot_plan", None)
    if plan is not None:
        from .snapshot import save

        kind, trigger, path = plan
        first = m.run(max_insns=trigger, pause_at_limit=True) if kind == "insns" else m.run(max_insns=args.max_insns)
        m.snapshot_plan = None
        if first.paused:
            save(m, path)
            sys.stderr.write(f"emu: snapshot saved to {path}\n")
            result = m.run(max_insns=args.max_insns)
        else:
            sys.stderr.write(f"emu: the run ended before the snapshot trigger; no snapshot saved\n")
            result = first
    else:
        result = m.run(max_insns=args.max_insns)
    if timeline is not None:
        timeline.write(args.timeline)
    return _report(result)


def cmd_build(args) -> int:
    from .build.pipeline import main as build_main

    return build_main(args.rest)


def cmd_demo(args) -> int:
    from .build.pipeline import build
    from .loader.elf import load_elf

    root = project_root()
    out = root / "build"
    built = build(root, out, names=[DEMO_SYSTEM])
    m = _make_machine(args)
    m.load(load_elf(str(built[DEMO_SYSTEM])))
    code = _run(m, args)
    result = m.last_result
    text = m.console.text
    # What the demo is meant to show: both RTOS tenants run their tasks on their own ticks,
    # preempted by the hypervisor, and finish; the attacker is contained.
    contained = "(attacker): stage-2 violation" in text
    finished = all(f"({t}): system off" in text for t in ("rtos_a", "rtos_b"))
    ticks = "[rtos_a] [periodic] tick 30" in text and "[rtos_b] [periodic] tick 21" in text
    ok = result.diagnostic is None and code == 1 and contained and finished and ticks
    sys.stderr.write(
        f"emu: demo {'as expected' if ok else 'NOT as expected'}: hypervisor exit code {code}; "
        f"attacker {'contained' if contained else 'NOT contained'}; RTOS tenants "
        f"{'ticked and finished' if finished and ticks else 'did NOT finish as expected'}\n")
    return 0 if ok else 1


def cmd_test(args) -> int:
    from .scenario import main as test_main

    return test_main(args.rest)


def cmd_bench(args) -> int:
    from .bench import main as bench_main

    return bench_main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="emu", description="AArch64 full-system emulator for hypervisor and firmware developers")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run an image headless; the exit code is the guest's")
    r.add_argument("image", nargs="?", help="ELF image (or raw binary with --raw ADDR)")
    r.add_argument("--snapshot-at", nargs=2, metavar=("INSNS|REGEX", "FILE"), default=None,
                   help="save a snapshot after INSNS instructions, or when the console matches REGEX")
    r.add_argument("--restore", default=None, metavar="FILE", help="start from a snapshot instead of IMAGE")
    r.add_argument("--raw", type=_int, default=None, metavar="ADDR", help="IMAGE is a raw binary loaded at ADDR")
    r.add_argument("--tenant", action="append", default=[], metavar="ELF",
                   help="run IMAGE as the hypervisor with this tenant (repeatable)")
    r.add_argument("--tenant-memory", type=_size, default=2 << 20, metavar="SIZE",
                   help="RAM per tenant given with --tenant (default 2M)")
    _add_machine_args(r)
    r.set_defaults(fn=cmd_run)
    r.add_argument("--gdb", default=None, metavar="[HOST:]PORT",
                   help="serve the GDB remote protocol (loopback unless HOST) and start when gdb continues")
    g = sub.add_parser("debug", parents=[r], add_help=False,
                       help="run an image under gdb-multiarch: as run, with --gdb (default :1234)")
    g.set_defaults(fn=cmd_debug)

    b = sub.add_parser("build", help="assemble firmware/ and guest/ into ELF images", add_help=False)
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(fn=cmd_build)

    d = sub.add_parser("demo", help="build and run the shipped hypervisor with two RTOS tenants and an attacker")
    _add_machine_args(d)
    d.set_defaults(fn=cmd_demo)

    t = sub.add_parser("test", help="run scenarios (TOML) against directories of firmware builds", add_help=False)
    t.add_argument("rest", nargs=argparse.REMAINDER)
    t.set_defaults(fn=cmd_test)

    bn = sub.add_parser("bench", help="benchmarks against qemu-system-aarch64", add_help=False)
    bn.add_argument("rest", nargs=argparse.REMAINDER)
    bn.set_defaults(fn=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # `build` and `bench` have their own parsers; hand them their arguments untouched.
    passthrough = {"build": cmd_build, "bench": cmd_bench, "test": cmd_test}
    if argv and argv[0] in passthrough:
        args = argparse.Namespace(rest=argv[1:], fn=passthrough[argv[0]])
    else:
        args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except EmuError as err:
        sys.stderr.write(f"emu: {err}\n")
        return err.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("emu: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except OSError as err:
        sys.stderr.write(f"emu: {err.filename or ''}: {err.strerror}\n" if err.filename else f"emu: {err}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
