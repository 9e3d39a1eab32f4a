"""pytest plugin: boot firmware images in tests and check them in virtual time.

Installed with the package (entry point ``pytest11``), so ``pytest`` finds it. It provides:

- the ``machine`` fixture, a factory: ``m = machine("demo")`` builds (or finds) the image named
  ``demo`` and boots it; also ``machine(image=path)``, ``machine("hyp", tenants=["hello"])``,
  with ``board=``, ``el=1|2``, ``time="deterministic"|"realtime"``, ``smp=N`` cores; ``machine(kernel=Image,
  initrd=..., append="console=ttyAMA0")`` boots an arm64 Linux Image as ``emu run --kernel``;
- ``m.uart.expect(regex, timeout="10ms")``: run until the console prints a match, at most
  that much *virtual* time, and return the ``re.Match``;
- ``m.uart.send(b"...")``: type input for the guest, which receives it as its UART takes it;
- ``m.run()`` to the guest's exit (``m.exit_code``), ``m.run_for(insns)``;
- ``m.traps``: a Counter of exception entries by EC name (``"EC_HVC64"``, ``"IRQ"``...);
- ``m.snapshot()`` and ``m.fork()`` / ``machine.restore(snap)``: tests fork from a booted state;
- on failure, the report gets each machine's console transcript and its last trace lines.

Options: ``--emu-build-dir DIR`` takes images from a directory of built ELF files instead of
building the project's sources (a firmware team's build output, say).
"""

from __future__ import annotations

import collections
import io
import re
from pathlib import Path

import pytest

from .cpu.clock import parse_virtual_time
from .cpu.esr import ec_name, ec_of
from .errors import EmuError
from .stop import Stop

TRACE_LINES = 60
class ExpectTimeout(AssertionError):
    pass


class _RingStream(io.TextIOBase):
    def __init__(self, n: int):
        self.lines: collections.deque[str] = collections.deque(maxlen=n)

    def write(self, s: str) -> int:
        for line in s.splitlines():
            self.lines.append(line)
        return len(s)


class Uart:
    """The console as a test sees it: what was printed, and waiting for more."""

    def __init__(self, tm: "TestMachine"):
        self._tm = tm
        self.pos = 0  # where the next expect() starts looking

    @property
    def text(self) -> str:
        return self._tm.m.console.text

    def send(self, data: bytes | str) -> None:
        """Queue input on the console UART's line (a str as UTF-8). Nothing runs: the guest
        receives it as its receiver is enabled and its FIFO has room, during the next
        ``expect`` or ``run`` (emu/devices/pl011.py, Receiving); a FIFO flush does not lose it."""
        if isinstance(data, str):
            data = data.encode()
        uart = self._tm.m.devices.get("uart0")
        if uart is None:
            raise EmuError("uart.send(): this board has no uart0")
        uart.queue_rx(bytes(data))

    @property
    def pending(self) -> int:
        """Bytes sent that the guest's UART has not taken yet."""
        uart = self._tm.m.devices.get("uart0")
        return 0 if uart is None else uart.rx_queued

    def expect(self, pattern: str, timeout="100ms") -> re.Match:
        rx = re.compile(pattern)
        m = self._tm.m
        found = rx.search(self.text, self.pos)
        if found is None:
            start = self.pos

            def watch(_data: bytes) -> None:
                if rx.search(m.console.text, start):
                    m.pause(Stop.UART_MATCH)

            m.console.listeners.append(watch)
            try:
                result = m.run(until_counter=m.clock.now() + parse_virtual_time(timeout))
            finally:
                m.console.listeners.remove(watch)
            self._tm.last_result = result
            found = rx.search(self.text, self.pos)
            if found is None:
                why = (f"the guest ended the run (exit code {result.exit_code}: {result.reason}"
                       f"{'; ' + result.diagnostic if result.diagnostic else ''})") if not result.paused \
                    else f"{timeout} of virtual time passed"
                raise ExpectTimeout(f"console never matched {pattern!r}: {why}")
        self.pos = found.end()
        return found


class TestMachine:
    """A booted machine with test conveniences; ``m`` is the underlying emu.machine.Machine."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, machine, name: str):
        self.m = machine
        self.name = name
        self.uart = Uart(self)
        self.traps: collections.Counter = collections.Counter()
        self.trace = _RingStream(TRACE_LINES)
        self.last_result = None
        from .debug.trace import Tracer

        Tracer(machine, "exceptions", self.trace)
        machine.add_observer(self._count)

    def _count(self, e) -> None:
        self.traps[ec_name(ec_of(e.esr)) if e.kind == "sync" else e.kind.upper()] += 1

    def run(self, max_insns: int | None = None):
        """Run until the guest ends the run; returns the RunResult."""
        self.last_result = self.m.run(max_insns=max_insns)
        return self.last_result

    def run_for(self, insns: int):
        """Run ``insns`` instructions (or until the guest ends the run first)."""
        self.last_result = self.m.run(max_insns=insns, pause_at_limit=True)
        return self.last_result

    @property
    def exit_code(self) -> int | None:
        return None if self.last_result is None else self.last_result.exit_code

    def snapshot(self, path: str | Path) -> Path:
        from .snapshot import save

        save(self.m, str(path))
        return Path(path)


class MachineFactory:
    def __init__(self, request, build_dir: Path | None, cache_dir: Path):
        self._request = request
        self._build_dir = build_dir
        self._cache = cache_dir
        self.created: list[TestMachine] = []
        self._n = 0

    def image_path(self, name: str) -> Path:
        if self._build_dir is not None:
            p = self._build_dir / f"{name}.elf"
            if not p.is_file():
                raise EmuError(f"{p}: no such image in the build directory")
            return p
        from .build.pipeline import build
        from .build.pipeline import project_root

        p = self._cache / f"{name}.elf"
        if not p.is_file():
            build(project_root(), self._cache, names=[name])
        return p

    def _machine(self, board: str, el: int, time: str, smp: int | None = None):
        from .machine import Console, Machine

        return Machine(board, console=Console(io.BytesIO(), echo=False), log=io.StringIO(),
                       time_mode=time, start_el=el, cores=smp)

    def __call__(self, name: str | None = None, *, image: str | Path | None = None,
                 tenants: list[str] | None = None, tenant_memory: int = 2 << 20,
                 board: str = "virt", el: int = 2, time: str = "deterministic",
                 kernel: str | Path | None = None, initrd: str | Path | None = None,
                 append: str | None = None, smp: int | None = None) -> TestMachine:
        from .loader.elf import load_elf

        if kernel is not None:
            if name is not None or image is not None or tenants:
                raise EmuError("machine(): kernel= goes without an image name, image= or tenants=")
            return self._linux(Path(kernel), initrd, append, board, el, time, smp)
        if initrd is not None or append is not None:
            raise EmuError("machine(): initrd= and append= go with kernel=")
        if (name is None) == (image is None):
            raise EmuError("machine(): give an image name or image=PATH")
        path = Path(image) if image is not None else self.image_path(name)
        img = load_elf(str(path))
        if tenants:
            from .build.manifest import pack_system

            img = pack_system(img, [(t, load_elf(str(self.image_path(t))), tenant_memory, None) for t in tenants])
        m = self._machine(board, el, time, smp)
        m.load(img)
        tm = TestMachine(m, name or path.stem)
        self.created.append(tm)
        return tm

    def _linux(self, kernel: Path, initrd: str | Path | None, append: str | None, board: str, el: int,
               time: str, smp: int | None = None) -> TestMachine:
        """An arm64 Linux Image with its initrd and command line, placed as ``emu run --kernel``
        (and ``qemu -kernel``) places them, the board's device tree after them."""
        from .board import load_board
        from .board.fdt import Initrd, build_fdt
        from .loader import linux
        from .loader.image import Image, Segment

        b = load_board(board)
        if smp is not None:
            b = b.with_cores(smp)
        ram = (b.ram.base, b.ram.size)
        rd = linux.read_file(str(initrd), "initrd") if initrd is not None else None

        def tree(span):
            return build_fdt(b, start_el=el, bootargs=append, initrd=Initrd(*span) if span else None).blob

        layout = linux.place_linux(linux.gunzip(linux.read_file(str(kernel), "kernel"), f"kernel {kernel}"),
                                   kernel.name, ram, rd, Path(initrd).name if initrd is not None else "initrd",
                                   len(tree((0, 0) if rd is not None else None)))
        blob = tree(layout.initrd)
        layout.images.append(Image("dtb", layout.dtb_addr, [Segment(layout.dtb_addr, blob, len(blob), "r")]))
        linux.check_disjoint(layout.images)
        m = self._machine(board, el, time, smp)
        for img in layout.images:
            m.load(img)
        m.boot_registers = layout.registers
        tm = TestMachine(m, kernel.name)
        self.created.append(tm)
        return tm

    def restore(self, snapshot: str | Path, board: str = "virt", el: int = 2, time: str = "deterministic") -> TestMachine:
        """A new machine that continues from ``snapshot`` (a fork of the machine that took it)."""
        from .snapshot import restore

        m = self._machine(board, el, time)
        restore(m, str(snapshot))
        tm = TestMachine(m, f"{Path(snapshot).stem} (restored)")
        self.created.append(tm)
        return tm

    def fork(self, tm: TestMachine) -> TestMachine:
        """Snapshot ``tm`` and restore it into a second, independent machine."""
        self._n += 1
        path = self._cache / f"fork-{id(self)}-{self._n}.snap"
        tm.snapshot(path)
        return self.restore(path, el=tm.m.start_el, time=tm.m.clock.mode)


def pytest_addoption(parser) -> None:
    group = parser.getgroup("emu")
    group.addoption("--emu-build-dir", default=None, metavar="DIR",
                    help="take machine() images from this directory of built ELF files")


@pytest.fixture(scope="session")
def _emu_image_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("emu-images")


@pytest.fixture
def machine(request, _emu_image_cache, tmp_path) -> MachineFactory:
    opt = request.config.getoption("--emu-build-dir")
    factory = MachineFactory(request, Path(opt) if opt else None, _emu_image_cache)
    factory._cache_snap = tmp_path
    request.node._emu_factory = factory
    return factory


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    factory = getattr(item, "_emu_factory", None)
    if factory is None or report.passed or report.when != "call":
        return
    for tm in factory.created:
        report.sections.append((f"emu console: {tm.name}", tm.m.console.text or "(nothing printed)"))
        report.sections.append((f"emu trace, last {TRACE_LINES} exception entries: {tm.name}",
                                "\n".join(tm.trace.lines) or "(no exception entries)"))
