"""The ``emu`` command: build images, run them headless, run the demo and the benchmarks.

Whatever goes wrong ends with one ``emu: ...`` line on stderr and an exit code from the table
in README.md, never a traceback or a hang, and without losing what was asked for: on Ctrl-C,
SIGTERM, a closed stdout or a full disk the trace, timeline and console files are still
written (or the failure to write them is named).
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import io
import os
import re
import signal
import stat
import sys
import tempfile
import threading
from fractions import Fraction
from pathlib import Path

from .errors import EmuError
from .stop import Stop

EXIT_BAD_INPUT = 2        # also: an output file that could not be written
EXIT_TIMEOUT = 124        # as emu/machine.py: --max-insns reached
EXIT_GUEST_FAULT = 125    # as emu/machine.py: the emulator stopped a guest that crashed
EXIT_INTERRUPTED = 130    # SIGINT (128 + 2), as a shell reports it
EXIT_BROKEN_PIPE = 141    # stdout closed by its reader (128 + SIGPIPE)
EXIT_TERMINATED = 143     # SIGTERM (128 + 15), as QEMU exits on it
# A guest whose own exit code is one of these is named on stderr (see _report).
OWN_EXIT_CODES = {EXIT_BAD_INPUT, EXIT_TIMEOUT, EXIT_GUEST_FAULT, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE,
                  EXIT_TERMINATED}

MAX_INPUT = 16 << 20      # bytes --input takes (the PL011's host queue holds as many: RX_QUEUE_MAX)
MAX_INSNS = 1 << 56       # an instruction count, as snapshots bound it (emu/snapshot.py)
MAX_SIZE = 1 << 64        # a --ram / --tenant-memory size must be below this

_SIZE = re.compile(r"(?P<num>0x[0-9a-f]{1,40}|[0-9]{1,40}(?:\.[0-9]{1,40})?|\.[0-9]{1,40})"
                   r"\s*(?P<unit>[kmgt]?)(?:i?b)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _count(text: str) -> int:
    """An instruction count: a whole number from 0 (no limit) to MAX_INSNS."""
    n = _int(text)
    if not 0 <= n < MAX_INSNS:
        raise argparse.ArgumentTypeError(f"{text!r} is not an instruction count from 0 to {MAX_INSNS - 1}")
    return n


def _size(text: str) -> int:
    """A size in bytes: 4096, 0x1000, 512M, 1.5G, 2GiB. A whole number of bytes below 2^64."""
    t = text.strip()
    if t.startswith("-"):
        raise argparse.ArgumentTypeError(f"a size cannot be negative: {text!r}")
    m = _SIZE.fullmatch(t)
    if m is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 512M or 1G)")
    num = m["num"]
    value = (int(num, 16) if num[:2].lower() == "0x" else Fraction(num)) * _UNITS[m["unit"].lower()]
    if value != int(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of bytes ({float(value):.1f})")
    if value >= MAX_SIZE:
        raise argparse.ArgumentTypeError(f"{text!r} is too large (the limit is below 2^64 bytes)")
    return int(value)


def _human(n: int) -> str:
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} byte{'s' if n != 1 else ''}"


def _say(line: str) -> None:
    """One line on stderr; a stderr that is gone loses it rather than raising."""
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


# -- signals -----------------------------------------------------------------------------------

class Terminated(KeyboardInterrupt):
    """SIGTERM, where it is raised in the main thread (emu debug, emu build/test/bench)."""


def _raise_terminated(_sig, _frame):
    raise Terminated()


class Signals:
    """SIGINT and SIGTERM, taken by a thread of their own instead of the main thread.

    Python runs signal handlers in the main thread between bytecodes, and that includes
    Unicorn's hook callbacks (ctypes) and lief's code (nanobind): a KeyboardInterrupt raised in
    there is printed and ignored, or aborts the process. So ``arm()`` blocks both signals in
    the main thread and a daemon thread waits for them:

    - before a machine exists (imports, loading images, reading input) nothing has been
      written: the process ends at once with ``emu: interrupted`` and 130 (143 for SIGTERM);
    - once one is attached, the thread pauses it (Machine.pause is safe from other threads),
      again until the main thread has seen it, since a pause between two runs is forgotten by
      the next; the command then writes what it was asked to and exits 130/143;
    - a second signal after that ends the process at once (a write that blocks for ever).

    ``emu debug`` / ``--gdb`` serve the debugger in the main thread and run the guest in
    another, so ``hand_back()`` restores ordinary handlers there. Unarmed (``main(argv)``
    called in a test's process) this does nothing.
    """

    SIGNALS = {signal.SIGINT, signal.SIGTERM}

    def __init__(self) -> None:
        self.signum: int | None = None
        self.machine = None
        self._lock = threading.Lock()
        self._armed = False
        self._handed_back = False
        self._pausing = False
        self._main = threading.main_thread().ident

    def arm(self) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS)
        self._armed = True
        threading.Thread(target=self._wait, name="emu-signals", daemon=True).start()

    @property
    def interrupted(self) -> bool:
        return self.signum is not None

    def attach(self, machine) -> None:
        with self._lock:
            self.machine = machine

    def seen(self) -> None:
        """The main thread has stopped running the machine for the signal."""
        self._pausing = False

    def hand_back(self) -> None:
        """Give the signals back to the main thread as KeyboardInterrupt / Terminated."""
        if not self._armed:
            return
        with self._lock:
            self._handed_back = True
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _raise_terminated)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, self.SIGNALS)

    def _wait(self) -> None:
        while True:
            if self._pausing:
                info = signal.sigtimedwait(self.SIGNALS, 0.05)
                if info is None:
                    if self._pausing:
                        self.machine.pause(Stop.SIGNAL)
                    continue
                sig = info.si_signo
            else:
                sig = signal.sigwait(self.SIGNALS)
            with self._lock:
                if self._handed_back:
                    signal.pthread_kill(self._main, sig)
                    continue
                if self.signum is None:
                    self.signum = sig
                    if self.machine is not None:
                        self._pausing = True
                        self.machine.pause(Stop.SIGNAL)
                        continue
            self._exit_now()

    def _exit_now(self) -> None:
        code, what = self.outcome()
        try:
            os.write(2, f"emu: {what}\n".encode())
        except OSError:
            pass
        os._exit(code)

    def outcome(self) -> tuple[int, str]:
        if self.signum == signal.SIGTERM:
            return EXIT_TERMINATED, "terminated"
        return EXIT_INTERRUPTED, "interrupted"


# -- outputs -----------------------------------------------------------------------------------

def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class Output:
    """Somewhere the run writes: a file named by an option, or stdout/stderr.

    Files are opened just before the run (``open()``), after the inputs have been checked:
    - a FIFO with no reader is refused then instead of blocking for ever;
    - a file written whole at the end (``whole``: the timeline, a snapshot) goes to a new file
      beside the named one that replaces it once complete (``commit``), so an interrupted or
      failed write leaves what was there before.
    Writes during the run come from inside Unicorn's hooks and never raise: the first error
    stops writes here, is kept in ``error`` and reported after the run with ``name``;
    ``on_error`` is called then (stdout stops the run: nobody is reading the console).
    """

    def __init__(self, path: str | None, option: str, *, whole: bool = False, stream=None):
        self.path = path
        self.option = option
        self.whole = whole
        self.f = stream
        self._owned = stream is None
        self._text = isinstance(stream, io.TextIOBase)
        self._tmp: str | None = None
        self._target: str | None = None
        self.error: OSError | None = None
        self.on_error = None

    @property
    def name(self) -> str:
        return self.path if self.path is not None else self.option

    def open(self) -> None:
        if self.f is not None:
            return
        path = self.path
        try:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            if self.whole and (st is None or stat.S_ISREG(st.st_mode)):
                self._target = os.path.realpath(path)
                fd, self._tmp = tempfile.mkstemp(prefix=f".{os.path.basename(self._target)}.", suffix=".tmp",
                                                 dir=os.path.dirname(self._target))
                os.fchmod(fd, st.st_mode & 0o7777 if st is not None else 0o666 & ~_umask())
            else:
                # Non-blocking so that a FIFO with no reader fails (ENXIO) instead of waiting.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
                fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        except OSError as err:
            if err.errno == errno.ENXIO:
                raise EmuError(f"{self.option} {path}: nothing is reading this FIFO (start its reader first)") from None
            raise EmuError(f"{self.option} {path}: {err.strerror}") from None
        self.f = os.fdopen(fd, "wb")

    def write(self, data) -> None:
        if self.error is not None or self.f is None:
            return
        try:
            if self._text:
                self.f.write(data if isinstance(data, str) else data.decode("utf-8", "replace"))
            else:
                self.f.write(data.encode() if isinstance(data, str) else data)
        except (OSError, ValueError) as err:
            self._fail(err)

    def flush(self) -> None:
        if self.error is None and self.f is not None:
            try:
                self.f.flush()
            except (OSError, ValueError) as err:
                self._fail(err)

    def _fail(self, err: Exception) -> None:
        if not isinstance(err, OSError):  # a stream closed under us
            err = OSError(errno.EBADF, os.strerror(errno.EBADF))
        self.error = err
        if self.on_error is not None:
            self.on_error()

    def close(self) -> None:
        """Flush and close a stream; an error is kept in ``error``. A whole file not committed
        is discarded."""
        if self.whole:
            self.discard()
            return
        self.flush()
        if self._owned and self.f is not None:
            try:
                self.f.close()
            except OSError as err:
                if self.error is None:
                    self.error = err
            self.f = None

    def commit(self, write) -> None:
        """Write the whole file with ``write(f)`` and put it in place; EmuError names it."""
        try:
            write(self.f)
            self.f.close()
            self.f = None
            if self._tmp is not None:
                os.replace(self._tmp, self._target)
                self._tmp = None
        except OSError as err:
            self.discard()
            raise EmuError(f"{self.path}: {err.strerror}") from None

    def discard(self) -> None:
        if self.f is not None:
            try:
                self.f.close()
            except OSError:
                pass
            self.f = None
        if self._tmp is not None:
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
            self._tmp = None


class Outputs:
    """Every Output of one command, opened and closed together."""

    def __init__(self) -> None:
        self.all: list[Output] = []

    def add(self, out: Output) -> Output:
        self.all.append(out)
        return out

    def open(self) -> None:
        for out in self.all:
            out.open()

    def close(self) -> list[Output]:
        """Close them all; the ones that failed."""
        for out in self.all:
            out.close()
        return [out for out in self.all if out.error is not None]


# -- running -----------------------------------------------------------------------------------

DEMO_SYSTEM = "smp"  # manifests/smp.toml: a two-vCPU tenant, two RTOS tenants and an attacker
DEMO_CORES = 4       # ... on cores of their own
DEMO_NET_SYSTEM = "net"  # manifests/net.toml: an echo and a key-value service on the TOE
DEMO_NET_PORTS = {"echo": (17000, 7000), "kv": (17001, 7001)}   # host port -> the service's TOE port


def _load_image(path: str, raw_addr: int | None):
    from .loader.elf import load_elf
    from .loader.raw import load_raw

    if raw_addr is not None:
        return load_raw(path, raw_addr)
    return load_elf(path)


def _add_machine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--board", default="virt", help="board name or TOML file (default: virt)")
    p.add_argument("--ram", type=_size, default=None, help="RAM size, e.g. 512M (default: the board's)")
    p.add_argument("--max-insns", type=_count, default=None, metavar="N",
                   help="stop after N instructions (exit code 124)")
    p.add_argument("--trace", default="", metavar="CATS", help="comma list of trace categories: exceptions, irq, hypercalls, mmio, tenants")
    p.add_argument("--trace-format", choices=("text", "json"), default="text")
    p.add_argument("--trace-file", default=None, metavar="FILE", help="write the trace here (default: stderr)")
    p.add_argument("--timeline", default=None, metavar="FILE",
                   help="write a Chrome/Perfetto trace of ELs, tenants, traps and interrupts")
    p.add_argument("-d", "--log", default="", metavar="KINDS",
                   help="device log kinds to show: guest_errors,unimp (as QEMU's -d)")
    p.add_argument("--smp", type=_smp_count, default=None, metavar="N",
                   help="cores, 1 to 4 (default: the board's; QEMU's -smp): core 0 starts, the "
                        "others wait for PSCI CPU_ON")
    p.add_argument("--quantum", type=_positive_int, default=None, metavar="INSNS",
                   help="instructions a core runs before the next gets its turn (default 10000; "
                        "part of the virtual-time contract, docs/smp.md)")
    p.add_argument("--el", type=int, choices=(1, 2), default=2,
                   help="exception level to start at: 2 (virtualization on, default) or 1, as "
                        "qemu -M virt without virtualization=on")
    p.add_argument("--time", choices=("deterministic", "realtime"), default="deterministic",
                   help="deterministic: the counter follows retired instructions (default); "
                        "realtime: it follows the host clock (faster)")
    p.add_argument("--input", default=None, metavar="TEXT|@FILE",
                   help=f"bytes for the UART to receive as the guest takes them: TEXT (escapes allowed), "
                        f"@FILE, or - for stdin (a terminal: read as the guest polls) (at most {_human(MAX_INPUT)})")
    p.add_argument("--console-file", default=None, metavar="FILE", help="also write the console here")
    p.add_argument("--toe", action="append", default=[], metavar="OPTS",
                   help="the TCP offload engine on real host TCP: hostfwd=tcp:[HOST]:HPORT-:PORT (a host "
                        "port to the TOE port a tenant listens on; HPORT 0: any), connect=NET (where "
                        "outbound connections may go; default loopback only); repeatable")
    p.add_argument("--record", default=None, metavar="FILE",
                   help="write every external input, with its virtual time, to FILE: the TOE's network "
                        "events and what a terminal types to the UART (--input -)")
    p.add_argument("--replay", default=None, metavar="FILE",
                   help="give back the inputs of a --record FILE at their times, with no network and "
                        "no terminal: the same run to the instruction")
    p.add_argument("--semihosting-config", type=_semihosting_config, default=None, metavar="OPTS",
                   help="Arm semihosting, as QEMU's option: enable=on|off (default on), userspace=on|off "
                        "(default off: honoured only at the EL the machine boots at; on: lower ELs too, "
                        "e.g. tenants under a hypervisor)")


def _semihosting_config(text: str):
    """QEMU's ``-semihosting-config`` keys that mean something here: enable and userspace."""
    from .cpu.semihosting import SemihostingConfig

    values = {"on": True, "off": False}
    config = SemihostingConfig()
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key not in ("enable", "userspace") or value not in values:
            raise argparse.ArgumentTypeError(
                f"{item!r}: expected enable=on|off or userspace=on|off")
        if key == "enable":
            config.enabled = values[value]
        else:
            config.lower_els = values[value]
    return config


def _read_bounded(f, name: str) -> bytes:
    try:
        data = f.read(MAX_INPUT + 1)
    except OSError as err:
        raise EmuError(f"--input {name}: {err.strerror}") from None
    if len(data) > MAX_INPUT:
        raise EmuError(f"--input {name}: more than {_human(MAX_INPUT)}, the most the UART input takes")
    return data


def _read_input(spec: str) -> bytes | None:
    """The bytes --input gives: TEXT with backslash escapes, @FILE, or - (stdin). None for a
    stdin that is a terminal: that is read as the guest asks for input (_terminal_poll)."""
    if spec == "-":
        if sys.stdin is None:
            raise EmuError("--input -: stdin is closed")
        if sys.stdin.isatty():
            return None
        return _read_bounded(sys.stdin.buffer, "- (stdin)")
    if spec.startswith("@"):
        try:
            with open(spec[1:], "rb") as f:
                return _read_bounded(f, spec)
        except OSError as err:
            raise EmuError(f"--input {spec}: {err.strerror}") from None
    try:
        return spec.encode("utf-8", "surrogateescape").decode("unicode_escape").encode("latin-1")
    except UnicodeError as err:
        raise EmuError(f"--input: {err.reason} in {spec!r} (escapes are as in Python byte strings)") from None


def _smp_count(text: str) -> int:
    from .smp import MAX_CORES

    try:
        n = int(text, 0)
    except ValueError:
        n = None
    if n is None or not 1 <= n <= MAX_CORES:
        raise argparse.ArgumentTypeError(f"{text!r}: the number of cores is 1 to {MAX_CORES}")
    return n


def _positive_int(text: str) -> int:
    try:
        n = int(text, 0)
    except ValueError:
        n = 0
    if not 1 <= n <= 1 << 40:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number from 1 to 2**40")
    return n


def _network(args):
    """(network, record list, board name) for --toe, --record and --replay. The board gets its
    TOE, and the SMMU that confines the TOE's DMA, when --toe asks for one or a replayed
    recording has network events. --record also takes the terminal's input to the UART, and
    --replay gives it back (args.uart_replay)."""
    from .devices.toe import LiveNet, ReplayNet
    from .net import UART, UART_INPUT, EventLog, load_events, parse_toe

    toe, record_to, replay = getattr(args, "toe", []), getattr(args, "record", None), getattr(args, "replay", None)
    args.record_log, args.uart_replay = None, None
    if not (toe or record_to or replay):
        return None, None, args.board
    if replay and (toe or record_to):
        raise EmuError("--replay gives back a recorded run's inputs: it goes without --toe and --record")
    if replay and getattr(args, "input", None):
        raise EmuError("--replay gives back the recorded UART input: it goes without --input")
    # A TOE comes with the SMMU that confines its DMA: the SmartNIC board.
    smartnic = args.board + "".join(f",{o}" for o in ("iommu=smmuv3", "toe=on") if o not in args.board.split(","))
    if replay:
        events = load_events(replay)
        args.uart_replay = [(e[0], e[2]) for e in events if e[1] == UART]
        args.input_data = b"".join(e[2] for e in events if e[1] == UART_INPUT) or None
        network = [e for e in events if e[1] not in (UART, UART_INPUT)]
        return (ReplayNet(network), None, smartnic) if network else (None, None, args.board)
    if record_to:
        try:
            args.record_log = EventLog(open(record_to, "w", encoding="utf-8"))
        except OSError as err:
            raise EmuError(f"--record {record_to}: cannot write: {err.strerror or err}") from None
    if not toe:
        return None, None, args.board
    opts = parse_toe(toe)
    record = args.record_log
    try:
        net = LiveNet(opts.forwards, opts.connect or ["127.0.0.0/8"])
    except OSError as err:
        raise EmuError(f"--toe: cannot listen: {err.strerror or err}") from None
    for (host, _, port), hport in zip(opts.forwards, net.ports):
        _say(f"emu: toe: {host}:{hport} -> port {port}")
    return net, record, smartnic


def _new_machine(args, console):
    """The machine the options describe; a RAM size it cannot have is one line, not a trace."""
    from unicorn import UcError

    from .machine import Machine

    network, record, board = _network(args)
    try:
        return Machine(board, ram_size=args.ram, console=console, time_mode=args.time, start_el=args.el,
                       semihosting=args.semihosting_config, cores=args.smp, quantum=args.quantum,
                       network=network, network_record=record)
    except EmuError:
        raise
    except (UcError, OSError, OverflowError, ValueError, MemoryError) as err:
        why = getattr(err, "strerror", None) or str(err) or type(err).__name__
        if args.ram is None:
            raise EmuError(f"cannot create the machine: {why}") from None
        size = args.ram
        if size == 0 or size % 4096:
            why = "RAM must be a whole number of 4 KiB pages, more than none"
        elif isinstance(err, (MemoryError, OverflowError)) or getattr(err, "errno", None) == errno.ENOMEM:
            why = f"this host cannot give it {_human(size)} of memory"
        raise EmuError(f"--ram {_human(size)}: {why}") from None


def _make_machine(args):
    from .debug.trace import Tracer
    from .machine import Console

    outs = args.outputs = Outputs()
    args.input_data = _read_input(args.input) if args.input else None
    if sys.stdout is None and not args.console_file:
        raise EmuError("stdout is closed: the console has nowhere to go (redirect it, or give --console-file FILE)")
    stdout = args.stdout_out = outs.add(
        Output(None, "stdout", stream=sys.stdout.buffer if sys.stdout is not None else io.BytesIO()))
    console = Console(stdout, echo=sys.stdout is not None)
    if args.console_file:
        console.listeners.append(outs.add(Output(args.console_file, "--console-file")).write)
    if args.timeline:
        args.timeline_out = outs.add(Output(args.timeline, "--timeline", whole=True))
    m = _new_machine(args, console)
    args.signals.attach(m)
    stdout.on_error = lambda: m.pause(Stop.OUTPUT_FAILED)
    _say(_time_banner(m))
    m.log_kinds = {k.strip().rstrip("s") for k in args.log.split(",") if k.strip()}
    if args.trace.strip():
        if args.trace_file:
            stream = outs.add(Output(args.trace_file, "--trace-file"))
        else:
            stream = outs.add(Output(None, "stderr", stream=sys.stderr))
        Tracer(m, args.trace, stream, args.trace_format)
    return m


def _push_input(m, args) -> None:
    """Queue --input for the UART, after loading or restoring (which sets the UART's state, the
    input a snapshot still had queued included: this comes after it). The UART hands the
    bytes to the guest as its receiver takes them (emu/devices/pl011.py, Receiving); a
    terminal on stdin is read whenever the guest finds nothing to receive."""
    uart = m.devices.get("uart0")
    if uart is not None and getattr(args, "uart_replay", None) is not None:
        uart.rx_poll = _replayed_poll(m, args.uart_replay)
        if args.input_data:
            uart.queue_rx(args.input_data)
        return
    if uart is None or not args.input:
        return
    if args.input_data is None:
        uart.rx_poll = _terminal_poll(sys.stdin.fileno())
        if getattr(args, "record_log", None) is not None:
            uart.rx_poll = _recorded_poll(m, uart.rx_poll, args.record_log)
        return
    try:
        uart.queue_rx(args.input_data)
    except ValueError as err:
        raise EmuError(f"--input: {err}") from None
    if getattr(args, "record_log", None) is not None:
        from .net import UART_INPUT

        args.record_log.append((0, UART_INPUT, args.input_data))


def _recorded_poll(m, poll, log):
    """``poll``, each chunk it returns also written to the --record log with its virtual time."""
    from .net import UART

    def recorded() -> bytes:
        data = poll()
        if data:
            log.append((m.clock.now(), UART, data))
        return data

    return recorded


def _replayed_poll(m, chunks: list):
    """The UART input of a recording: each chunk at the first poll at or after its virtual time,
    which in the same run is the poll that got it."""
    pending = sorted(chunks, key=lambda c: c[0])

    def replayed() -> bytes:
        if pending and m.clock.now() >= pending[0][0]:
            return pending.pop(0)[1]
        return b""

    return replayed


def _terminal_poll(fd: int):
    """What the terminal on ``fd`` has typed, without waiting: a line once Enter is pressed (the
    terminal keeps its line editing and echo), nothing after end of input (Ctrl-D)."""
    import select

    ended = False

    def poll() -> bytes:
        nonlocal ended
        if ended or not select.select([fd], [], [], 0)[0]:
            return b""
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        ended = not data
        return data

    return poll


def _time_banner(m) -> str:
    from .cpu.clock import COUNTER_HZ, INSNS_PER_TICK

    if m.clock.mode == "deterministic":
        return (f"emu: deterministic time: counter {COUNTER_HZ / 1e6:g} MHz, advancing one tick per "
                f"{INSNS_PER_TICK} instructions (a 1 GHz virtual core)")
    return f"emu: realtime: counter {COUNTER_HZ / 1e6:g} MHz following the host clock (not reproducible)"


def _report(result) -> int:
    """The guest's outcome: its exit code, or the emulator's with the diagnostic. A guest exit
    code that the emulator also uses for its own outcomes is named, so the two can be told
    apart (README, exit codes)."""
    if result.diagnostic:
        _say(f"emu: {result.reason}: {result.diagnostic}")
    elif result.paused:
        _say(f"emu: the run stopped: {result.reason}")
        return EXIT_BAD_INPUT
    elif result.exit_code in OWN_EXIT_CODES:
        _say(f"emu: guest exited with code {result.exit_code}")
    return result.exit_code


def cmd_run(args) -> int:
    if args.restore:
        if args.image or args.tenant:
            raise EmuError("--restore starts from the snapshot: give no IMAGE or --tenant with it")
        from .snapshot import restore

        m = _make_machine(args)
        restore(m, args.restore)
        _push_input(m, args)
        return _run(m, args)
    if args.kernel or args.bios or args.dumpdtb or args.dtb or args.initrd or args.append is not None:
        return _boot(args)
    if not args.image:
        raise EmuError("run: give an IMAGE, --kernel FILE or --bios FILE (or --restore FILE)")
    image = _load_image(args.image, args.raw)
    if args.tenant:
        image = _pack_tenants(image, args)
    elif args.time_slice is not None or args.tenant_irqs:
        raise EmuError(f"{'--time-slice' if args.time_slice is not None else '--tenant-irqs'} goes with --tenant")
    m = _make_machine(args)
    m.load(image)
    _push_input(m, args)
    if args.snapshot_at:
        _snapshot_when(m, args, *args.snapshot_at)
    return _run(m, args)


def _pack_tenants(hyp, args):
    """IMAGE as the hypervisor with the ``--tenant [NAME=]FILE`` images, their ``--tenant-irqs``
    and the ``--time-slice``, checked as a manifest's are (emu/build/manifest.py)."""
    from .build.manifest import pack_system, parse_time_slice, quantum_ticks, unique_tenant_names

    requested = [_tenant_arg(t) for t in args.tenant]
    names = unique_tenant_names(requested)
    irqs = _tenant_irqs(args.tenant_irqs, names)
    quantum = quantum_ticks(parse_time_slice(args.time_slice)) if args.time_slice is not None else 0
    tenants = [(name, _load_image(file, None), args.tenant_memory, None, irqs.get(name, ()))
               for name, (_, file) in zip(names, requested)]
    return pack_system(hyp, tenants, quantum=quantum)


def _tenant_arg(text: str) -> tuple[str | None, str]:
    """``--tenant NAME=FILE`` or ``--tenant FILE``: a ``=`` before any ``/`` ends a name."""
    name, sep, file = text.partition("=")
    if not sep or "/" in name:
        return None, text
    if not file:
        raise EmuError(f"--tenant {text}: give NAME=FILE (no file after '=')")
    return name, file


def _tenant_irqs(specs: list[str], names: list[str]) -> dict[str, tuple[int, ...]]:
    """``--tenant-irqs NAME=48,49``: the SPIs each named tenant owns (pack_system checks them)."""
    owned: dict[str, tuple[int, ...]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        if not sep or not values:
            raise EmuError(f"--tenant-irqs {spec}: give NAME=SPI[,SPI...], e.g. {names[0]}=48,49")
        if name not in names:
            raise EmuError(f"--tenant-irqs {spec}: no tenant {name!r} (tenants: {', '.join(names)})")
        if name in owned:
            raise EmuError(f"--tenant-irqs {spec}: tenant {name!r} is given SPIs twice")
        try:
            owned[name] = tuple(int(v, 0) for v in values.split(","))
        except ValueError:
            raise EmuError(f"--tenant-irqs {spec}: {values!r} is not a comma list of INTIDs") from None
    return owned


def _boot(args) -> int:
    """--kernel / --bios / --dumpdtb: place the images and the device tree as QEMU's virt does
    (emu/loader/linux.py), then run, or write the tree and stop."""
    from .board import load_board
    from .board.fdt import Initrd, build_fdt, check_fdt, patch_fdt
    from .loader import linux
    from .loader.image import Image, Segment

    if args.restore or args.tenant or args.image:
        what = "--restore" if args.restore else "--tenant" if args.tenant else f"IMAGE {args.image}"
        raise EmuError(f"{what} cannot go with --kernel, --bios, --dtb or --dumpdtb (give the image as --kernel)")
    if args.kernel and args.bios:
        raise EmuError("--kernel with --bios needs fw_cfg to hand the kernel to the firmware, which the board lacks")
    if (args.initrd or args.append is not None) and not args.kernel:
        raise EmuError(f"{'--initrd' if args.initrd else '--append'} goes with --kernel, as QEMU's -kernel")
    board = load_board(args.board)
    if args.ram is not None:
        board = board.with_ram_size(args.ram)
    if args.smp is not None:
        board = board.with_cores(args.smp)
    ram = (board.ram.base, board.ram.size)
    user_dtb = None
    if args.dtb:
        user_dtb = linux.read_file(args.dtb, "--dtb")
        check_fdt(user_dtb, f"--dtb {args.dtb}")

    def tree(initrd: tuple[int, int] | None) -> bytes:
        initrd = Initrd(*initrd) if initrd else None
        if user_dtb is not None:
            return patch_fdt(user_dtb, f"--dtb {args.dtb}", ram=ram, bootargs=args.append, initrd=initrd)
        return build_fdt(board, start_el=args.el, bootargs=args.append, initrd=initrd).blob

    # The tree's size does not depend on the initrd's addresses, only on there being one.
    dtb_size = len(tree((0, 0) if args.initrd else None))
    layout = None
    if args.bios:
        flash = board.memory.get("flash")
        if flash is None:
            raise EmuError(f"--bios: board {board.name} has no memory.flash to hold firmware")
        layout = linux.place_bios(linux.read_file(args.bios, "--bios"), f"--bios {args.bios}",
                                  (flash.base, flash.size), ram, dtb_size)
    elif args.kernel:
        data = linux.read_file(args.kernel, "--kernel")
        if data[:4] == b"\x7fELF" or args.raw is not None:
            if args.initrd:
                raise EmuError("--initrd needs a Linux Image as --kernel, not an ELF or raw program")
            layout = linux.place_executable(_load_image(args.kernel, args.raw), ram, dtb_size)
        else:
            initrd = linux.read_file(args.initrd, "--initrd") if args.initrd else None
            layout = linux.place_linux(linux.gunzip(data, f"--kernel {args.kernel}"), Path(args.kernel).name, ram,
                                       initrd, Path(args.initrd).name if args.initrd else "initrd", dtb_size)
    blob = tree(layout.initrd if layout else None)
    if args.dumpdtb:
        try:
            with open(args.dumpdtb, "wb") as f:
                f.write(blob)
        except OSError as err:
            raise EmuError(f"--dumpdtb {args.dumpdtb}: {err.strerror or err}") from None
        _say(f"emu: device tree written to {args.dumpdtb}")
        return 0
    if layout is None:
        raise EmuError("run: --dtb needs --kernel FILE or --bios FILE")
    if layout.dtb_addr is not None:
        layout.images.append(Image("dtb", layout.dtb_addr, [Segment(layout.dtb_addr, blob, len(blob), "r")]))
    linux.check_disjoint(layout.images)
    m = _make_machine(args)
    for image in layout.images:
        m.load(image)
    m.boot_registers = layout.registers
    _push_input(m, args)
    if args.snapshot_at:
        _snapshot_when(m, args, *args.snapshot_at)
    return _run(m, args)


def _snapshot_when(m, args, trigger: str, path: str) -> None:
    """Arrange the first part of a run to stop at the trigger; _run saves and goes on."""
    out = args.outputs.add(Output(path, "--snapshot-at", whole=True))
    try:
        n = int(trigger, 0)
    except ValueError:
        pass
    else:
        if not 0 < n < MAX_INSNS:
            raise EmuError(f"--snapshot-at: {trigger!r} is not an instruction count from 1 to {MAX_INSNS - 1}")
        m.snapshot_plan = ("insns", n, out)
        return
    try:
        pattern = re.compile(trigger)
    except (re.error, RecursionError, OverflowError) as err:
        raise EmuError(f"--snapshot-at: bad regular expression {trigger!r}: {err}") from None
    m.snapshot_plan = ("regex", pattern, out)

    def watch(_data: bytes) -> None:
        if m.snapshot_plan is not None and pattern.search(m.console.text):
            m.pause(Stop.SNAPSHOT)

    m.console.listeners.append(watch)


def cmd_debug(args) -> int:
    args.gdb = args.gdb or ":1234"
    return cmd_run(args)


def _run(m, args) -> int:
    """Run a loaded machine as the options say; write the timeline, report, return the code."""
    outs = args.outputs
    try:
        outs.open()
        if getattr(args, "gdb", None):
            from .debug.gdbstub import serve_gdb

            args.signals.hand_back()
            code = serve_gdb(m, args.gdb, max_insns=args.max_insns)
            return _finish(m, args, None, code)
        timeline = None
        if args.timeline:
            from .debug.timeline import Timeline

            timeline = Timeline(m)
            timeline.hook_erets()
        result = _run_machine(m, args)
        if timeline is not None:
            import json

            args.timeline_out.commit(lambda f: f.write(json.dumps(timeline.finish()).encode()))
        return _finish(m, args, result, None)
    finally:
        outs.close()


def _run_machine(m, args):
    """The run, in one or two parts (before and after a snapshot), unless a signal stops it."""
    from .stop import RunResult

    signals = args.signals

    def run(**kw):
        if signals.interrupted:
            return RunResult(None, Stop.SIGNAL)
        result = m.run(**kw)
        if signals.interrupted:
            signals.seen()
        return result

    plan = getattr(m, "snapshot_plan", None)
    if plan is None:
        return run(max_insns=args.max_insns)
    from .snapshot import save

    kind, trigger, out = plan
    first = run(max_insns=trigger, pause_at_limit=True) if kind == "insns" else run(max_insns=args.max_insns)
    m.snapshot_plan = None
    if not first.paused or signals.interrupted or args.stdout_out.error is not None:
        if not signals.interrupted:
            _say("emu: the run ended before the snapshot trigger; no snapshot saved")
        return first
    out.commit(lambda f: save(m, f))
    _say(f"emu: snapshot saved to {out.path}")
    return run(max_insns=args.max_insns)


def _finish(m, args, result, code: int | None) -> int:
    """The exit code after a run: a signal, then a failed stdout, then failed output files,
    then the guest's outcome. Every failure is named on stderr."""
    failed = args.outputs.close()
    stdout = next((o for o in failed if o.option == "stdout"), None)
    files = [o for o in failed if o is not stdout]
    if args.signals.interrupted:
        code, what = args.signals.outcome()
        for o in files:
            _say(f"emu: {o.name}: {o.error.strerror}")
        _say(f"emu: {what}")
        return code
    if stdout is not None:
        broken = stdout.error.errno == errno.EPIPE
        _say(f"emu: stdout: {stdout.error.strerror}; the run was stopped")
        for o in files:
            _say(f"emu: {o.name}: {o.error.strerror}")
        return EXIT_BROKEN_PIPE if broken else EXIT_BAD_INPUT
    if code is None:
        code = _report(result)
    for o in files:
        _say(f"emu: {o.name}: {o.error.strerror} (its output is incomplete; the run ended with code {code})")
    return EXIT_BAD_INPUT if files else code


def _demo_net(args) -> int:
    """emu demo --net: the network services of manifests/net.toml on host ports (17000 echo,
    17001 key-value, or what --toe forwards), served until Ctrl-C, which ends it with 0."""
    from .build.pipeline import build, project_root
    from .loader.elf import load_elf

    root = project_root()
    built = build(root, root / "build", names=[DEMO_NET_SYSTEM])
    if not args.toe:
        args.toe = [",".join(f"hostfwd=tcp:127.0.0.1:{host}-:{port}" for host, port in DEMO_NET_PORTS.values())]
    m = _make_machine(args)
    m.load(load_elf(str(built[DEMO_NET_SYSTEM])))
    names = {port: name for name, (_, port) in DEMO_NET_PORTS.items()}
    for (host, _, port), hport in zip(parse_forwards(args), m.network.ports):
        _say(f"emu: demo --net: {names.get(port, 'nothing')} on TOE port {port}: {host}:{hport}")
    _push_input(m, args)
    code = _run(m, args)
    if args.signals.interrupted and args.signals.signum == signal.SIGINT:
        _say("emu: demo --net: stopped by Ctrl-C")
        return 0
    return code


def parse_forwards(args):
    from .net import parse_toe

    return parse_toe(args.toe).forwards


def cmd_build(args) -> int:
    from .build.pipeline import main as build_main

    return build_main(args.rest)


def cmd_demo(args) -> int:
    from .build.pipeline import build, project_root
    from .loader.elf import load_elf

    if args.net:
        return _demo_net(args)
    root = project_root()
    out = root / "build"
    built = build(root, out, names=[DEMO_SYSTEM])
    if args.smp is None:
        args.smp = DEMO_CORES
    m = _make_machine(args)
    m.load(load_elf(str(built[DEMO_SYSTEM])))
    _push_input(m, args)
    code = _run(m, args)
    result = getattr(m, "last_result", None)
    if result is None or code != result.exit_code:
        return code  # interrupted, or an output failed: already reported
    text = m.console.text
    # What the demo is meant to show: the pair's two vCPUs, on two cores, lose no increment under
    # their lock; both RTOS tenants run their tasks on their own ticks on their own cores, and
    # finish; the attacker is refused every core it reaches for, then contained.
    paired = "[pair] vCPU 0: vCPU 1 is off; counter 4000 of 4000" in text
    refused = text.count("(attacker): PSCI CPU_ON of MPIDR") == 3 and "it does not have: ignored" in text
    contained = "(attacker): stage-2 violation" in text
    finished = all(f"({t}): system off" in text for t in ("pair", "rtos_a", "rtos_b"))
    ticks = "[rtos_a] [periodic] tick 30" in text and "[rtos_b] [periodic] tick 21" in text
    ok = result.diagnostic is None and code == 1 and paired and refused and contained and finished and ticks
    _say(f"emu: demo {'as expected' if ok else 'NOT as expected'} on {args.smp} cores: hypervisor exit "
         f"code {code}; pair {'counted 4000 of 4000' if paired else 'did NOT count as expected'}; "
         f"attacker {'refused and contained' if refused and contained else 'NOT refused and contained'}; "
         f"RTOS tenants {'ticked and finished' if finished and ticks else 'did NOT finish as expected'}")
    return 0 if ok else 1


def cmd_test(args) -> int:
    from .scenario import main as test_main

    return test_main(args.rest)


def cmd_bench(args) -> int:
    from .bench import main as bench_main

    return bench_main(args.rest)


def cmd_fuzz(args) -> int:
    """The project's fuzz suites, long (scripts/fuzz.py in the checkout)."""
    import runpy

    from .build.pipeline import project_root

    script = project_root() / "scripts" / "fuzz.py"
    sys.argv = [str(script), *args.rest]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="emu", description="AArch64 full-system emulator for hypervisor and firmware developers")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run an image headless; the exit code is the guest's")
    r.add_argument("image", nargs="?", help="ELF image (or raw binary with --raw ADDR)")
    r.add_argument("--snapshot-at", nargs=2, metavar=("INSNS|REGEX", "FILE"), default=None,
                   help="save a snapshot after INSNS instructions, or when the console matches REGEX")
    r.add_argument("--restore", default=None, metavar="FILE", help="start from a snapshot instead of IMAGE")
    r.add_argument("--raw", type=_int, default=None, metavar="ADDR",
                   help="IMAGE (or --kernel) is a raw binary loaded at ADDR")
    r.add_argument("--kernel", default=None, metavar="FILE",
                   help="boot as qemu -kernel: an arm64 Linux Image (x0 = the device tree), or an ELF")
    r.add_argument("--initrd", default=None, metavar="FILE", help="initial ramdisk for --kernel, as qemu -initrd")
    r.add_argument("--append", default=None, metavar="TEXT", help="kernel command line (/chosen bootargs)")
    r.add_argument("--dtb", default=None, metavar="FILE",
                   help="pass this device tree instead of the board's (memory and /chosen set in it)")
    r.add_argument("--dumpdtb", default=None, metavar="FILE",
                   help="write the device tree the guest would get and exit, as qemu -M dumpdtb=")
    r.add_argument("--bios", default=None, metavar="FILE",
                   help="firmware (raw) at flash address 0, started there; the device tree at RAM base")
    r.add_argument("--tenant", action="append", default=[], metavar="[NAME=]ELF",
                   help="run IMAGE as the hypervisor with this tenant (repeatable); NAME (1 to 31 of "
                        "A-Z a-z 0-9 _ . -) defaults to the file's stem, .1, .2... for a stem already taken")
    r.add_argument("--tenant-memory", type=_size, default=2 << 20, metavar="SIZE",
                   help="RAM per tenant given with --tenant (default 2M)")
    r.add_argument("--tenant-irqs", action="append", default=[], metavar="NAME=SPI[,SPI...]",
                   help="SPIs (INTID 32-95, not a board device's) the --tenant NAME owns (repeatable)")
    r.add_argument("--time-slice", default=None, metavar="DURATION",
                   help="preempt --tenant tenants every DURATION (2ms, 500us; a manifest's quantum_us); "
                        "default: cooperative")
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

    d = sub.add_parser("demo", help="build and run the shipped hypervisor on four cores: a two-vCPU tenant, "
                                    "two RTOS tenants and an attacker; with --net, network services "
                                    "on the TOE until Ctrl-C")
    d.add_argument("--net", action="store_true",
                   help="an echo (127.0.0.1:17000) and a key-value service (127.0.0.1:17001) in two RTOS "
                        "tenants on the TOE, served until Ctrl-C; --toe changes the ports")
    _add_machine_args(d)
    d.set_defaults(fn=cmd_demo)

    t = sub.add_parser("test", help="run scenarios (TOML) against directories of firmware builds", add_help=False)
    t.add_argument("rest", nargs=argparse.REMAINDER)
    t.set_defaults(fn=cmd_test)

    bn = sub.add_parser("bench", help="benchmarks against qemu-system-aarch64", add_help=False)
    bn.add_argument("rest", nargs=argparse.REMAINDER)
    bn.set_defaults(fn=cmd_bench)

    fz = sub.add_parser("fuzz", help="run the fuzz suites long and print figures (scripts/fuzz.py)", add_help=False)
    fz.add_argument("rest", nargs=argparse.REMAINDER)
    fz.set_defaults(fn=cmd_fuzz)
    return p


class _Parser(argparse.ArgumentParser):
    """Usage errors as one ``emu: ...`` line, exit 2, like every other bad input."""

    def error(self, message: str) -> None:
        command = self.prog.removeprefix("emu").strip()
        _say(f"emu: {command + ': ' if command else ''}{message} (see {self.prog} --help)")
        sys.exit(EXIT_BAD_INPUT)


def _drop_stdout() -> None:
    """Point fd 1 at /dev/null so that nothing more is written to a closed pipe at exit."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    """The command line. As the program (no ``argv``) it also takes SIGINT/SIGTERM (Signals)
    and survives a closed stderr; called with ``argv`` in a test's process it leaves both."""
    program = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    # `build` and `bench` have their own parsers; hand them their arguments untouched.
    passthrough = {"build": cmd_build, "bench": cmd_bench, "test": cmd_test, "fuzz": cmd_fuzz}
    signals = Signals()
    if program:
        if sys.stderr is None:
            sys.stderr = open(os.devnull, "w")
        if argv and argv[0] in passthrough:
            signal.signal(signal.SIGTERM, _raise_terminated)  # pure Python: signals as exceptions
        else:
            signals.arm()
    try:
        if argv and argv[0] in passthrough:
            args = argparse.Namespace(rest=argv[1:], fn=passthrough[argv[0]])
        else:
            args = build_parser().parse_args(argv)
        args.signals = signals
        return args.fn(args)
    except EmuError as err:
        _say(f"emu: {err}")
        return err.exit_code
    except KeyboardInterrupt as err:
        code, what = (EXIT_TERMINATED, "terminated") if isinstance(err, Terminated) else (EXIT_INTERRUPTED, "interrupted")
        _say(f"emu: {what}")
        return code
    except BrokenPipeError:
        _drop_stdout()
        _say("emu: stdout: Broken pipe")
        return EXIT_BROKEN_PIPE
    except OSError as err:
        _say(f"emu: {err.filename}: {err.strerror}" if err.filename else f"emu: {err.strerror or err}")
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
