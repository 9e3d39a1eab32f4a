"""The noise figure: "selfish detours" of a tenant under two schedulers, as the Hafnium and Kitten
papers measure OS noise.

``emu bench --isolation noise`` boots two systems with the same two tenants, a detour tenant
(``guest/noise/detour.s``: it reads CNTVCT_EL0 in a tight loop and records every gap of more than
four times the loop's cost) and a busy one (``guest/noise/spin.s``):

- **sliced** (``manifests/noise_sliced.toml``): the hypervisor's own round robin, ``quantum_us =
  1000``; a detour is its CNTHP tick, the switch to the busy tenant, that tenant's slice and the
  switch back;
- **primary** (``manifests/noise_primary.toml``, ``scheduler = "primary"``): a primary tenant
  (``guest/noise/scheduler.s``) that runs both round robin with FFA_RUN, 1 ms each on its own
  virtual timer; a detour is FFA_RUN returning FFA_INTERRUPT to the primary, its timer interrupt,
  the busy tenant's run, and each FFA_RUN that leaves the primary.

Each system also runs without the busy tenant (``manifests/noise_*_alone.toml``), which leaves only
the scheduler's own detours: the hypervisor's tick, or the primary's timer and its FFA_RUN round
trip.

After the run the detour table is read out of the detour tenant's RAM (its PA from the system
image's ``detour:`` symbols). Virtual time is deterministic, so the figures are exact and the same
on every run; a repeat that differs is an error. Host time is printed for what it is worth and
never asserted.
"""

from __future__ import annotations

import io
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cpu.clock import COUNTER_HZ
from .errors import EmuError
from .loader.image import Image
from .stop import Stop

BUDGET_US = 100_000             # the detour tenant's measurement, in virtual microseconds
SPIN_MARGIN_US = 10_000         # the busy tenant outlasts it by this much under the time slice

# guest/noise/detour.s: `summary`, doublewords.
SUMMARY_FIELDS = ("reads", "span", "count", "total", "largest", "threshold", "recorded", "loop_ticks")


@dataclass(frozen=True)
class NoiseSystem:
    """One scheduler: ``manifests/SYSTEM.toml`` with the busy tenant, ``manifests/SYSTEM_alone.toml``
    without it; the detour tenant is named ``detour``, the busy one ``spin``."""

    name: str
    system: str
    about: str

    def manifest(self, busy: bool) -> str:
        return self.system if busy else f"{self.system}_alone"


SYSTEMS = [
    NoiseSystem("sliced", "noise_sliced", "the hypervisor's time slice, quantum_us = 1000"),
    NoiseSystem("primary", "noise_primary", "a primary: FFA_RUN, its own timer 1 ms ahead"),
]


@dataclass
class Detours:
    """One run: the detour tenant's summary and table, in counter ticks."""

    system: str
    busy: bool                      # with the busy tenant, or alone
    reads: int
    span: int                       # ticks from the first read to the last
    count: int
    total: int
    largest: int
    threshold: int
    loop_ticks: int                 # ticks of 4096 reads of the loop (its calibration)
    table: list[tuple[int, int]]    # (start, length) of each recorded detour
    retired: int                    # the whole system's instructions
    seconds: float                  # host time of Machine.run
    console: str = field(repr=False, default="")

    @property
    def label(self) -> str:
        return self.system if self.busy else f"{self.system}, alone"

    @property
    def per_second(self) -> float:
        return self.count / (self.span / COUNTER_HZ)

    @property
    def mean_us(self) -> float:
        return self.total / self.count / COUNTER_HZ * 1e6 if self.count else 0.0

    @property
    def largest_us(self) -> float:
        return self.largest / COUNTER_HZ * 1e6

    @property
    def lost(self) -> float:
        """The fraction of the span spent in detours."""
        return self.total / self.span

    def virtual(self) -> tuple:
        """Everything but host time: equal on every run of the same system."""
        return (self.reads, self.span, self.count, self.total, self.largest, self.threshold,
                tuple(self.table), self.retired)


def build_images(out_dir: Path | str | None = None) -> dict[str, Image]:
    """The two systems, by name."""
    from .build.pipeline import build_all, project_root

    root = project_root()
    built = build_all(root, Path(out_dir) if out_dir else root / "build",
                      [s.manifest(busy) for s in SYSTEMS for busy in (True, False)])
    return {b.name: b.image for b in built}


def system_image(images: dict[str, Image], system: NoiseSystem, budget_us: int, busy: bool) -> Image:
    """The system with the detour tenant's budget and, with the busy tenant, the busy tenant's:
    past the detour tenant's end, so that it is busy all the while."""
    from .bench import patch_symbol

    image = patch_symbol(images[system.manifest(busy)], "detour:budget_us", budget_us)
    return patch_symbol(image, "spin:budget_us", budget_us + SPIN_MARGIN_US) if busy else image


def run_system(images: dict[str, Image], system: NoiseSystem, budget_us: int = BUDGET_US,
               busy: bool = True, time_mode: str = "deterministic") -> Detours:
    """One run; an EmuError unless every tenant ended cleanly (the hypervisor's semihosting exit 0)."""
    from .machine import Console, Machine

    image = system_image(images, system, budget_us, busy)
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), time_mode=time_mode, start_el=2)
    m.load(image)
    t0 = time.perf_counter()
    r = m.run()
    seconds = time.perf_counter() - t0
    if r.exit_code != 0 or r.diagnostic or r.stop is not Stop.SEMIHOST_EXIT \
            or "hyp: all tenants stopped, 0 contained" not in m.console.text:
        raise EmuError(f"noise benchmark {system.name} ({'busy' if busy else 'alone'}) ended with {r.reason}, "
                       f"exit {r.exit_code} {r.diagnostic or ''}\n{m.console.text[-2000:]}")
    raw = m.read_phys(image.symbols["detour:summary"], 8 * len(SUMMARY_FIELDS))
    s = dict(zip(SUMMARY_FIELDS, struct.unpack(f"<{len(SUMMARY_FIELDS)}Q", raw)))
    words = struct.unpack(f"<{2 * s['recorded']}Q", m.read_phys(image.symbols["detour:detours"], 16 * s["recorded"]))
    return Detours(system.name, busy, s["reads"], s["span"], s["count"], s["total"], s["largest"], s["threshold"],
                   s["loop_ticks"], list(zip(words[0::2], words[1::2])), m.retired, seconds, m.console.text)


def measure(budget_us: int = BUDGET_US, repeat: int = 1, images: dict[str, Image] | None = None,
            show: bool = False) -> list[Detours]:
    """Each system with its busy tenant, then each alone; ``repeat`` runs each, which must agree
    in everything but host time (the fastest is kept)."""
    images = images if images is not None else build_images()
    out = []
    if show:
        print_header(budget_us)
    for busy in (True, False):
        for system in SYSTEMS:
            runs = [run_system(images, system, budget_us, busy) for _ in range(max(1, repeat))]
            if len({r.virtual() for r in runs}) != 1:
                raise EmuError(f"noise benchmark {system.name}: virtual time differs between runs")
            best = min(runs, key=lambda r: r.seconds)
            out.append(best)
            if show:
                print_row(best)
    return out


# -- the table -------------------------------------------------------------------------------

def print_header(budget_us: int) -> None:
    print(f"noise: selfish detours of a tenant over {budget_us / 1000:g} ms of virtual time")
    print(f"{'system':<22} {'detours/s':>10} {'mean us':>10} {'largest us':>11} {'time lost':>10} "
          f"{'threshold ns':>13} {'host s':>7}")


def format_row(d: Detours) -> str:
    return (f"{d.label:<22} {d.per_second:10.1f} {d.mean_us:10.3f} {d.largest_us:11.3f} {d.lost:10.3%} "
            f"{d.threshold * 1e9 / COUNTER_HZ:13.0f} {d.seconds:7.2f}")


def print_row(d: Detours) -> None:
    print(format_row(d))
    sys.stdout.flush()


def plot(runs: list[Detours], out_dir: Path | str) -> Path:
    """``out_dir/detours.png``: each detour as a point, when it began (ms of virtual time) against
    how long it took (us), as the papers plot them; one panel with the busy tenant, one alone."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "detours.png"
    panels = [(busy, [d for d in runs if d.busy is busy]) for busy in (True, False)]
    panels = [(busy, ds) for busy, ds in panels if ds]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3.2 * len(panels)), squeeze=False)
    markers = {"sliced": "o", "primary": "x"}
    for ax, (busy, ds) in zip(axes[:, 0], panels):
        for d in ds:
            xs = [start / COUNTER_HZ * 1e3 for start, _ in d.table]
            ys = [length / COUNTER_HZ * 1e6 for _, length in d.table]
            ax.scatter(xs, ys, s=12, marker=markers.get(d.system, "."),
                       label=f"{d.system}: {d.count} detours, mean {d.mean_us:.1f} us, {d.lost:.2%} lost")
        ax.set_xlabel("virtual time (ms)")
        ax.set_ylabel("detour (us)")
        ax.set_title("with a busy tenant" if busy else "alone: the scheduler's own detours")
        ax.legend(fontsize=8)
    fig.suptitle("Selfish detours: the hypervisor's time slice vs a primary that schedules")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
