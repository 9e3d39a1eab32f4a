"""Benchmarks: our emulator beside ``qemu-system-aarch64`` on the same ELF, in the same run.

Each figure comes from runs of an image with 1 and with N iterations; the difference divided
by N - 1 is the cost of one iteration, so start-up (QEMU's process, our calibration and
loading) cancels out. Figures are printed, never asserted: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .bench_isolation import WORKLOADS as ISOLATION_WORKLOADS
from .errors import EmuError
from .loader.image import Image, Segment


@dataclass
class Case:
    name: str
    image: str              # image name from images.toml
    unit: str               # what one iteration is
    insns_per_iter: int     # for MIPS; 0 when the figure is a latency
    tenant: bool = False    # run as a tenant of the shipped hypervisor
    time_mode: str = "deterministic"
    cores: int = 1          # --smp / -smp
    quantum: int | None = None   # --quantum (ours only)


CASES = [
    Case("compute", "bench_compute", "guest MIPS, deterministic time (ALU loop at EL2)", 4),
    Case("compute-rt", "bench_compute", "guest MIPS, realtime (ALU loop at EL2)", 4, time_mode="realtime"),
    Case("counter", "bench_counter_poll", "guest MIPS, deterministic time (CNTVCT_EL0 polling loop at EL2)", 3),
    Case("counter-rt", "bench_counter_poll", "guest MIPS, realtime (CNTVCT_EL0 polling loop at EL2)", 3,
         time_mode="realtime"),
    Case("hvc", "bench_hvc_loop", "HVC round trip, EL1 -> EL2 -> EL1 (us)", 0),
    Case("console", "bench_console_flood", "stage-2-trapped console write, per byte (us)", 0, tenant=True),
    Case("mmio", "bench_mmio_loop", "device register read, UARTFR (us)", 0),
    # Four busy cores: the aggregate rate (16 instructions per iteration, four on each core),
    # to set beside the one-core compute figure; and with turns of 1,000 instructions instead
    # of 10,000, whose difference is the cost of switching cores.
    Case("smp", "bench_compute_smp", "aggregate guest MIPS, 4 cores busy (ALU loop on each)", 16, cores=4),
    Case("smp-q1000", "bench_compute_smp", "the same with --quantum 1000", 16, cores=4, quantum=1000),
    # Two cores waking each other with SGIs: host time per round trip (virtual time: _sgi_virtual_row).
    Case("sgi", "bench_sgi_pingpong", "SGI round trip between two cores in WFI, host time (us)", 0, cores=2),
]


def patch_symbol(image: Image, symbol: str, value: int) -> Image:
    addr = image.symbols.get(symbol)
    if addr is None:
        raise EmuError(f"image {image.name} has no symbol {symbol}")
    segs = []
    for s in image.segments:
        if s.addr <= addr < s.addr + len(s.data):
            off = addr - s.addr
            data = s.data[:off] + struct.pack("<Q", value) + s.data[off + 8:]
            s = Segment(s.addr, data, s.memsz, s.flags)
        segs.append(s)
    out = Image(image.name, image.entry, segs, dict(image.symbols))
    for attr in ("tenants",):
        if hasattr(image, attr):
            setattr(out, attr, getattr(image, attr))
    return out


def _system(case: Case, images: dict[str, Image], n: int) -> Image:
    from .build.manifest import pack_system

    img = patch_symbol(images[case.image], "iterations", n)
    if case.tenant:
        return pack_system(images["hyp"], [("flood", img, 2 << 20, None)])
    return img


def time_ours(image: Image, time_mode: str = "deterministic", cores: int = 1, quantum: int | None = None) -> float:
    from .machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), time_mode=time_mode, cores=cores, quantum=quantum)
    m.load(image)
    t0 = time.perf_counter()
    r = m.run()
    dt = time.perf_counter() - t0
    if r.exit_code != 0 or r.diagnostic:
        raise EmuError(f"benchmark image {image.name} failed on emu: exit {r.exit_code} {r.diagnostic or ''}")
    return dt


def time_qemu(image: Image, tmp: Path, cores: int = 1) -> float:
    from .build.elf import write_elf
    from .reference import run_qemu

    path = tmp / f"{image.name}.elf"
    write_elf(image, path)
    run = run_qemu(path, timeout=300, extra=["-smp", str(cores)] if cores > 1 else None)
    if run.exit_code != 0:
        raise EmuError(f"benchmark image {image.name} failed on QEMU: exit {run.exit_code}")
    return run.seconds


UBOOT = Path("/usr/lib/u-boot/qemu_arm64/u-boot.bin")   # Debian's u-boot-qemu
AUTOBOOT = b"Hit any key to stop autoboot:"


def qemu_console_session(qemu: str, boot_args: list[str], script: list[tuple[bytes, bytes]],
                         timeout: float = 30.0) -> tuple[int | None, str, float]:
    """Run QEMU's virt (virtualization on, GICv2, Cortex-A53, 1 GiB, as our board) with
    ``boot_args`` and its UART on a Unix socket; for each (pattern, text) of ``script`` wait for
    the regex ``pattern`` on the console, after the previous match, then type ``text``; read the
    console to QEMU's exit. QEMU's PL011 takes bytes as soon as they arrive, before the guest
    listens, so nothing is sent early. Returns (exit code or None when killed, transcript,
    seconds from launch to exit)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as td:
        sock_path = os.path.join(td, "uart")
        proc = subprocess.Popen(
            [qemu, "-M", "virt,virtualization=on,gic-version=2", "-cpu", "cortex-a53", "-m", "1G", "-nic", "none",
             "-display", "none", "-monitor", "none", "-no-reboot",
             "-serial", f"unix:{sock_path},server=on,wait=on", *boot_args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        buf = bytearray()
        s = socket.socket(socket.AF_UNIX)
        try:
            while True:
                try:
                    s.connect(sock_path)
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise EmuError(f"QEMU did not open its serial socket: {proc.stderr.read()!r}")
                    time.sleep(0.01)

            def until(pattern: bytes, start: int) -> int:
                while not (m := re.compile(pattern).search(buf, start)):
                    s.settimeout(max(0.01, deadline - time.monotonic()))
                    try:
                        data = s.recv(4096)
                    except socket.timeout:
                        data = b""
                    if not data:
                        raise EmuError(f"QEMU: no {pattern!r} on the console:\n" + buf.decode(errors="replace"))
                    buf.extend(data)
                return m.end()

            pos = 0
            for pattern, text in script:
                pos = until(pattern, pos)
                s.sendall(text)
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                while data := s.recv(4096):
                    buf.extend(data)
            except OSError:
                pass
            code: int | None = proc.wait(timeout=max(0.01, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            code = None
        finally:
            s.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()
    return code, buf.decode(errors="replace"), time.perf_counter() - t0


def qemu_uboot_session(qemu: str, bios: str | Path, commands: list[str], timeout: float = 30.0
                       ) -> tuple[int | None, str, float]:
    """Boot ``bios`` (U-Boot) on QEMU, stop the autoboot with a key, type each command after a
    ``=> `` prompt, and read the console to QEMU's exit (see qemu_console_session)."""
    script = [(re.escape(AUTOBOOT), b"\n")] + [(rb"=> ", c.encode() + b"\n") for c in commands]
    return qemu_console_session(qemu, ["-bios", str(bios)], script, timeout)


def qemu_linux_session(qemu: str, kernel: str | Path, initrd: str | Path, append: str, prompt: str,
                       commands: list[str], timeout: float = 60.0) -> tuple[int | None, str, float]:
    """Boot a Linux Image with its initrd on QEMU (-kernel, -initrd, -append), type each
    command after the shell's ``prompt``, and read the console to QEMU's exit."""
    script = [(re.escape(prompt.encode()), c.encode() + b"\n") for c in commands]
    return qemu_console_session(qemu, ["-kernel", str(kernel), "-initrd", str(initrd), "-append", append],
                                script, timeout)


def time_uboot_ours(bios: Path, time_mode: str = "deterministic") -> float:
    """``emu run --bios`` from launch to exit: U-Boot to its prompt, then ``poweroff``. The
    first input byte stops the autoboot countdown."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "emu", "run", "--bios", str(bios), "--time", time_mode,
                        "--max-insns", "200000000", "--input", "\\npoweroff\\n"],
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=300)
    dt = time.perf_counter() - t0
    if p.returncode != 0 or b"=> poweroff" not in p.stdout:
        raise EmuError(f"U-Boot failed on emu: exit {p.returncode} {p.stderr.decode(errors='replace')}")
    return dt


def time_uboot_qemu(bios: Path) -> float:
    from .reference import qemu_path

    code, out, dt = qemu_uboot_session(qemu_path() or "qemu-system-aarch64", bios, ["poweroff"], timeout=60)
    if code != 0:
        raise EmuError(f"U-Boot failed on QEMU: exit {code}\n{out}")
    return dt


def per_iteration(timer, case: Case, images, n: int, repeat: int) -> float:
    """Seconds per iteration: (min t(N) - min t(1)) / (N - 1) over ``repeat`` runs of each.

    The one-iteration run costs everything but the loop (process start, boot, exit); the
    minimum is the run least disturbed by the rest of the machine."""
    t0 = min(timer(_system(case, images, 1)) for _ in range(repeat))
    tn = min(timer(_system(case, images, n)) for _ in range(repeat))
    return max(tn - t0, 1e-12) / (n - 1)


def main(argv: list[str] | None = None) -> int:
    from .build.pipeline import build
    from .build.pipeline import project_root
    from .loader.elf import load_elf
    from .reference import qemu_path

    ap = argparse.ArgumentParser(prog="emu bench", description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply iteration counts (default 1)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    ap.add_argument("--cases", default=",".join([c.name for c in CASES] + ["dma", "echo", "uboot", "linux"]))
    ap.add_argument("--isolation", nargs="?", const="all", metavar="WORKLOADS",
                    help="instead of the cases: each workload bare at EL1 and as a tenant of the hypervisor, "
                         "normalised to bare (emu/bench_isolation.py), and the noise figure (emu/bench_noise.py); "
                         "optionally a comma list of "
                         + ", ".join([w.name for w in ISOLATION_WORKLOADS] + ["dma", "noise"]))
    ap.add_argument("--plot", metavar="DIR", help="with --isolation: write DIR/isolation.png and, for the noise "
                                                  "figure, DIR/detours.png (needs matplotlib)")
    args = ap.parse_args(argv)
    if args.plot and not args.isolation:
        ap.error("--plot needs --isolation")
    if args.isolation:
        return _isolation(args)

    root = project_root()
    names = ["hyp"] + [c.image for c in CASES]
    built = build(root, root / "build", names=names)
    images = {n: load_elf(str(built[n])) for n in names}
    have_qemu = qemu_path() is not None
    if not have_qemu:
        print("qemu-system-aarch64 not found: printing our figures only")
    # Iterations per emulator, sized so that the N-iteration difference dwarfs start-up noise.
    iters = {"compute": (100_000_000, 400_000_000), "compute-rt": (100_000_000, 400_000_000),
             "counter": (20_000_000, 100_000_000), "counter-rt": (20_000_000, 100_000_000), "hvc": (200_000, 4_000_000),
             "console": (100_000, 1_000_000), "mmio": (200_000, 10_000_000),
             "smp": (25_000_000, 100_000_000), "smp-q1000": (25_000_000, 100_000_000),
             "sgi": (2_000, 100_000)}
    wanted = {c.strip() for c in args.cases.split(",")}
    rows = []
    with tempfile.TemporaryDirectory() as td:
        for case in CASES:
            if case.name not in wanted:
                continue
            n_ours, n_qemu = (max(1, int(n * args.scale)) for n in iters[case.name])
            ours = per_iteration(lambda im: time_ours(im, case.time_mode, case.cores, case.quantum), case, images,
                                 n_ours, args.repeat)
            ref = per_iteration(lambda im: time_qemu(im, Path(td), case.cores), case, images, n_qemu,
                                args.repeat) if have_qemu else None
            rows.append((case, ours, ref))
            _print_row(case, ours, ref)
    if "sgi" in wanted:
        _sgi_virtual_row(images["bench_sgi_pingpong"])
    if "dma" in wanted:
        _dma_row(args.repeat)
    if "echo" in wanted:
        _echo_rows(args.repeat, args.scale)
    if "uboot" in wanted:
        _uboot_row(args.repeat, have_qemu)
    if "linux" in wanted:
        _linux_row(args.repeat, have_qemu)
    return 0


def dma_read_figures(repeat: int, transfers: int = 20_000) -> tuple[float, float]:
    """Seconds for a 4 KiB DMA read through an SMMU stream with stage-2 translation (IOTLB hits)
    and for the same read through the physical bus, on ``--board virt,iommu=smmuv3``, best of
    ``repeat`` runs of ``transfers`` reads. The SMMU is set up through its registers and tables in
    guest RAM, as a hypervisor does."""
    from .machine import Console, Machine
    from .mem.dma import PhysicalPort

    m = Machine("virt,iommu=smmuv3", console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    smmu = m.devices["smmu"]
    strtab, l1, l2, data = 0x4800_0000, 0x4801_0000, 0x4801_1000, 0x4820_0000
    ipa, sid, vmid = 0x4000_0000, 1, 1
    vtcr = 32 | 1 << 6 | 2 << 16                     # T0SZ 32, SL0 1, 4 KiB, 40-bit PS
    m.write_phys(l1 + 8 * (ipa >> 30), struct.pack("<Q", l2 | 3))
    m.write_phys(l2 + 8 * ((ipa >> 21) & 0x1FF), struct.pack("<Q", data | 0x7FD))   # RW block, AF
    ste = [1 | 0b110 << 1, 0, vmid | vtcr << 32 | 1 << 51 | 1 << 58, l1, 0, 0, 0, 0]
    m.write_phys(strtab + 64 * sid, struct.pack("<8Q", *ste))
    smmu.write(0x80, 8, strtab)                      # STRTAB_BASE
    smmu.write(0x88, 4, 4)                           # linear, 16 STEs
    smmu.write(0x20, 4, 1)                           # CR0.SMMUEN
    stream, phys = smmu.stream(sid), PhysicalPort(m)
    stream.read(ipa, 4096)                           # the one walk: every later read hits the IOTLB

    def best(fn) -> float:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            for _ in range(transfers):
                fn()
            times.append((time.perf_counter() - t) / transfers)
        return min(times)

    return best(lambda: stream.read(ipa, 4096)), best(lambda: phys.read(data, 4096))


def _isolation(args) -> int:
    """``--isolation [WORKLOADS] [--plot DIR]``: the isolation-cost table (emu/bench_isolation.py)
    and the noise figure (emu/bench_noise.py, ``noise``: over BUDGET_US * --scale of virtual time,
    at least 2 ms)."""
    from . import bench_noise
    from .bench_isolation import measure, plot

    names = None
    if args.isolation != "all":
        names = [n.strip() for n in args.isolation.split(",") if n.strip()]
        known = {w.name for w in ISOLATION_WORKLOADS} | {"dma", "noise"}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise EmuError(f"--isolation: no workload {unknown[0]!r} (known: {', '.join(sorted(known))})")
    table = None if names is None else [n for n in names if n != "noise"]
    rows = measure(table, scale=args.scale, repeat=args.repeat, show=True) if table is None or table else []
    detours = []
    if names is None or "noise" in names:
        if rows:
            print()
        budget_us = max(2_000, int(bench_noise.BUDGET_US * args.scale))
        detours = bench_noise.measure(budget_us, repeat=args.repeat, show=True)
    if args.plot:
        if rows:
            print(f"wrote {plot(rows, args.plot)}")
        if detours:
            print(f"wrote {bench_noise.plot(detours, args.plot)}")
    return 0


def _dma_row(repeat: int, transfers: int = 20_000) -> None:
    """The DMA figures (dma_read_figures) as a row. QEMU has no row here (its SMMU is stage 1
    only, and it has no device to DMA from one)."""
    translated, direct = dma_read_figures(repeat, transfers)
    print(f"{'4 KiB DMA read, SMMU stage 2 (IOTLB hit) vs physical (us)':<52} emu {translated * 1e6:9.3f}   "
          f"physical {direct * 1e6:9.3f}   {translated / direct:.2f}x untranslated")
    sys.stdout.flush()


def _echo_client(port: int, transfer: int, transfers: int, pings: int) -> tuple[float, float]:
    """(MB/s, round-trip us) against an echo server: ``transfers`` writes of ``transfer`` bytes
    each read back whole before the next (the figure includes the way back), then ``pings``
    one-byte round trips. One round trip before the clock starts waits for the server to serve
    (a host port forwarded to a guest accepts before the guest has booted)."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sendall(b"!")
        c.recv(1)
        block = bytes(range(256)) * (transfer // 256)
        t = time.perf_counter()
        for _ in range(transfers):
            c.sendall(block)
            got = 0
            while got < len(block):
                got += len(c.recv(len(block) - got))
        mbps = transfers * len(block) / (time.perf_counter() - t) / 1e6
        t = time.perf_counter()
        for _ in range(pings):
            c.sendall(b"!")
            c.recv(1)
        return mbps, (time.perf_counter() - t) / pings * 1e6


def _echo_rows(repeat: int, scale: float = 1.0, time_mode: str = "deterministic") -> None:
    """The TOE's echo service (manifests/net.toml: an RTOS tenant, its driver polling every 1 ms
    tick) from a host client, beside a host loopback echo server in the same process: throughput
    with 64 KiB transfers and the round trip of one byte. Host time, deterministic virtual time."""
    import threading

    from .build.pipeline import build, project_root
    from .devices.toe import LiveNet
    from .loader.elf import load_elf
    from .machine import Console, Machine
    from .stop import Stop

    transfers, pings = max(2, int(32 * scale)), max(2, int(200 * scale))
    root = project_root()
    system = load_elf(str(build(root, root / "build", names=["net"])["net"]))

    def loopback_server(ls: socket.socket) -> None:
        conn, _ = ls.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    best_toe, best_host = (0.0, float("inf")), (0.0, float("inf"))
    for _ in range(repeat):
        net = LiveNet([("127.0.0.1", 0, 7000)])
        m = Machine("virt,iommu=smmuv3,toe=on", console=Console(io.BytesIO(), echo=False), log=io.StringIO(),
                    network=net, time_mode=time_mode)
        m.load(system)
        out: dict = {}

        def client() -> None:
            try:
                out["figures"] = _echo_client(net.ports[0], 64 << 10, transfers, pings)
            finally:
                while "done" not in out:        # a pause from outside a run is dropped: repeat it
                    m.pause(Stop.PAUSED)
                    time.sleep(0.01)

        t = threading.Thread(target=client)
        t.start()
        m.run()
        out["done"] = True
        t.join()
        net.shutdown()
        mbps, rtt = out["figures"]
        best_toe = (max(best_toe[0], mbps), min(best_toe[1], rtt))
        ls = socket.create_server(("127.0.0.1", 0))
        server = threading.Thread(target=loopback_server, args=(ls,))
        server.start()
        mbps, rtt = _echo_client(ls.getsockname()[1], 64 << 10, transfers, pings)
        server.join()
        ls.close()
        best_host = (max(best_host[0], mbps), min(best_host[1], rtt))
    print(f"{'echo through the TOE to an RTOS tenant, 64 KiB transfers (MB/s)':<52} emu {best_toe[0]:9.1f}   "
          f"host loopback {best_host[0]:9.1f}   {best_toe[0] / best_host[0]:.3f}x loopback")
    print(f"{'echo round trip of one byte (us)':<52} emu {best_toe[1]:9.1f}   "
          f"host loopback {best_host[1]:9.1f}   {best_toe[1] / best_host[1]:.0f}x loopback's time")
    sys.stdout.flush()


def _sgi_virtual_row(image: Image) -> None:
    """The SGI round trip in virtual time: counter ticks per round trip from runs of 10 and
    1,010 round trips (deterministic, so one run each is exact). QEMU's is host time only."""
    from .cpu.clock import COUNTER_HZ
    from .machine import Console, Machine

    ticks = []
    for n in (10, 1010):
        m = Machine(console=Console(io.BytesIO(), echo=False), cores=2)
        m.load(patch_symbol(image, "iterations", n))
        r = m.run()
        if r.exit_code != 0:
            raise EmuError(f"benchmark image {image.name} failed on emu: exit {r.exit_code} {r.diagnostic or ''}")
        ticks.append(m.clock.now())
    ns = (ticks[1] - ticks[0]) / 1000 * 1e9 / COUNTER_HZ
    print(f"{'the same in virtual time (ns)':<52} emu {ns:9.1f}   qemu         -   -")
    sys.stdout.flush()


def _uboot_row(repeat: int, have_qemu: bool) -> None:
    """Stock U-Boot to its prompt and poweroff, whole process on each side (start-up included):
    not a per-iteration figure, so it is timed whole, best of ``repeat``."""
    unit = "U-Boot to its prompt + poweroff, launch to exit (s)"
    if not UBOOT.is_file():
        print(f"{unit:<52} skipped: {UBOOT} missing (Debian's u-boot-qemu)")
        return
    ours = min(time_uboot_ours(UBOOT) for _ in range(repeat))
    ref = min(time_uboot_qemu(UBOOT) for _ in range(repeat)) if have_qemu else None
    ratio = f"{ours / ref:.2f}x QEMU's time" if ref else "-"
    print(f"{unit:<52} emu {ours:9.3f}   qemu {ref if ref is None else f'{ref:9.3f}'}   {ratio}")
    sys.stdout.flush()


LINUX_APPEND = "console=ttyAMA0 rdinit=/init"


def time_linux_ours(kernel: Path, initrd: Path, marker: str, time_mode: str = "deterministic") -> float:
    """``emu run --kernel --initrd --append`` from launch to exit: the kernel boots to an /init
    that prints ``marker`` and powers off (busybox ``poweroff -f``: PSCI SYSTEM_OFF)."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "emu", "run", "--kernel", str(kernel), "--initrd", str(initrd),
                        "--append", LINUX_APPEND, "--time", time_mode, "--max-insns", "3000000000"],
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=600)
    dt = time.perf_counter() - t0
    if p.returncode != 0 or marker.encode() not in p.stdout:
        raise EmuError(f"Linux failed on emu: exit {p.returncode} {p.stderr.decode(errors='replace')}\n"
                       + p.stdout.decode(errors="replace")[-2000:])
    return dt


def time_linux_qemu(kernel: Path, initrd: Path, marker: str) -> float:
    from .reference import qemu_path

    code, out, dt = qemu_console_session(qemu_path() or "qemu-system-aarch64",
                                         ["-kernel", str(kernel), "-initrd", str(initrd), "-append", LINUX_APPEND],
                                         [], timeout=120)
    if code != 0 or marker not in out:
        raise EmuError(f"Linux failed on QEMU: exit {code}\n{out[-2000:]}")
    return dt


def _linux_row(repeat: int, have_qemu: bool) -> None:
    """Debian's arm64 kernel to /init (which powers off at once), whole process on each side."""
    from .debian_arm64 import MARKER, POWEROFF_INIT, Unavailable, fetch, initramfs

    unit = "Debian Linux to /init + poweroff, launch to exit (s)"
    try:
        pk = fetch()
    except Unavailable as err:
        print(f"{unit:<52} skipped: {err}")
        return
    with tempfile.TemporaryDirectory() as td:
        initrd = Path(td) / "initramfs.cpio"
        initrd.write_bytes(initramfs(pk.busybox, POWEROFF_INIT))
        ours = min(time_linux_ours(pk.kernel, initrd, MARKER) for _ in range(repeat))
        ref = min(time_linux_qemu(pk.kernel, initrd, MARKER) for _ in range(repeat)) if have_qemu else None
    ratio = f"{ours / ref:.2f}x QEMU's time" if ref else "-"
    print(f"{unit:<52} emu {ours:9.3f}   qemu {ref if ref is None else f'{ref:9.3f}'}   {ratio}")
    sys.stdout.flush()


def _print_row(case: Case, ours: float, ref: float | None) -> None:
    if case.insns_per_iter:
        o = case.insns_per_iter / ours / 1e6
        r = case.insns_per_iter / ref / 1e6 if ref else None
        ratio = f"{o / r:.2f}x QEMU" if r else "-"
        print(f"{case.unit:<52} emu {o:9.1f}   qemu {r if r is None else f'{r:9.1f}'}   {ratio}")
    else:
        o = ours * 1e6
        r = ref * 1e6 if ref else None
        ratio = f"{o / r:.2f}x QEMU's time" if r else "-"
        print(f"{case.unit:<52} emu {o:9.3f}   qemu {r if r is None else f'{r:9.3f}'}   {ratio}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
