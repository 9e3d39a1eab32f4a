"""Isolation costs: each workload alone and as a tenant of the shipped hypervisor, normalised to alone.

``emu bench --isolation`` runs the images of ``guest/iso/`` twice, the same bytes: **bare**, alone
at EL1 on a machine booted at EL1 (``Machine(start_el=1)``, ``emu run --el 1``), where the
emulator answers PSCI over HVC; and as the one **tenant** of the hypervisor
(``manifests/iso_NAME_tenant.toml``, booted at EL2). Stage 1 is off on both sides, so a tenant's
only extra translation is the hypervisor's stage 2. Each side is measured in virtual time, exact
in deterministic mode (instructions retired by every EL, the hypervisor's included, and counter
ticks), and in host time; the tables print tenant / bare, as the Hafnium and Kitten papers print
their isolation costs.

As in :mod:`emu.bench`, a figure is the difference between a run of N and one of M iterations
over M - N, so boot and exit cancel out; host time keeps the fastest of ``repeat`` runs. Virtual
time is the same on every repeat, and a repeat that differs is an error. Nothing here asserts a
host time.

The 4 KiB DMA row is ``emu bench --cases dma``'s figure: a read through an SMMU stream with
stage-2 translation (a tenant's device) beside the same read on the physical bus (bare). It has
no virtual time: the device model reads in one step of the emulator, with no guest instruction.

The message row needs two tenants (``manifests/iso_message_tenant.toml``, both running
``guest/iso/message.s``): an FF-A message round trip, a page each way with FFA_MSG_SEND2 and
FFA_RX_RELEASE, each side woken by the hypervisor's HYP_EVENT_INTID. Bare there is nobody to send
to, so the same image copies the same two pages itself with an LDP/STP memcpy: the row is what
passing a message through the hypervisor costs against sharing memory with no isolation at all.

``--isolation noise`` adds the noise figure (:mod:`emu.bench_noise`): a tenant's "selfish detours"
under the hypervisor's time slice and under a primary that schedules.
"""

from __future__ import annotations

import io
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import EmuError
from .loader.image import Image
from .stop import RunResult, Stop


@dataclass(frozen=True)
class Workload:
    """One row: ``guest/iso/NAME.s`` (image ``iso_NAME``), ``manifests/iso_NAME_tenant.toml``."""

    name: str
    unit: str           # what one iteration is
    iterations: tuple[int, int]   # N and M at --scale 1
    bare: str           # what the bare run measures
    tenant: str         # what the tenant run measures

    @property
    def image(self) -> str:
        return f"iso_{self.name}"

    @property
    def system(self) -> str:
        return f"iso_{self.name}_tenant"


WORKLOADS = [
    Workload("compute", "ALU loop, 4 instructions", (1_000_000, 100_000_000),
             "the loop at EL1", "the same loop at EL1 under stage 2; nothing traps"),
    Workload("copy", "STREAM copy of 1 MiB, LDP/STP", (5, 200),
             "one pass at EL1", "one pass through stage 2; nothing traps"),
    Workload("random", "RandomAccess update of a 1 MiB table", (100_000, 10_000_000),
             "one xorshift64 index and XOR update", "the same through stage 2; nothing traps"),
    Workload("hvc", "HVC round trip", (1_000, 100_000),
             "PSCI_VERSION answered by the emulator (Python, no exception entry)",
             "HYP_TENANT_ID: exception to EL2, the hypervisor's dispatch, ERET"),
    Workload("mmio", "UARTFR read at 0x09000018", (1_000, 100_000),
             "a read of the emulator's PL011 (Python MMIO)",
             "a stage-2 data abort the hypervisor emulates (its answer, not the PL011's)"),
    Workload("resize", "grant + release of 2 MiB", (2, 100),
             "zeroing 2 MiB at EL1, as a kernel taking free RAM at least does",
             "HYP_MEM_GRANT, HYP_MSG_RECV, HYP_MEM_RELEASE, HYP_MSG_RECV: map, unmap, TLBI, scrub, two log lines"),
    Workload("message", "message round trip, a 4 KiB page each way", (10, 1_000),
             "two page copies (LDP/STP memcpy) in one address space: no partition to cross",
             "FFA_MSG_SEND2 to another tenant and back, each woken by HYP_EVENT_INTID in WFI, "
             "FFA_RX_RELEASE: two copies by the hypervisor, two tenant switches"),
]

DMA_UNIT = "4 KiB DMA read"
DMA_BARE = "the physical bus"
DMA_TENANT = "an SMMU stream, stage 2 (IOTLB hit)"
LEFT_OUT = ("message: bare is a plain page copy each way, as shared memory with no isolation would pass it; "
            "a time-sliced tenant's cost is --isolation noise")


@dataclass
class Run:
    """One run of a workload image."""

    iterations: int
    result: RunResult
    retired: int        # instructions, every EL
    ticks: int          # counter ticks (CNTPCT_EL0) at the end
    seconds: float      # host time of Machine.run
    value: int          # what the workload left in `result`
    console: str


@dataclass
class Cost:
    """Per iteration; None where a side has no such figure."""

    insns: float | None
    ticks: float | None
    seconds: float


@dataclass
class Row:
    name: str
    unit: str
    bare: Cost
    tenant: Cost
    runs: dict[str, list[Run]] = field(default_factory=dict)   # "bare"/"tenant": every run

    def ratio(self, what: str) -> float | None:
        b, t = getattr(self.bare, what), getattr(self.tenant, what)
        return t / b if b and t is not None else None


def build_images(out_dir: Path | str | None = None, names: list[str] | None = None) -> dict[str, Image]:
    """The bare images and the tenant systems of ``names`` (default: every workload), by name."""
    from .build.pipeline import build_all, project_root

    root = project_root()
    wanted = [w for w in WORKLOADS if names is None or w.name in names]
    built = build_all(root, Path(out_dir) if out_dir else root / "build",
                      [w.image for w in wanted] + [w.system for w in wanted])
    return {b.name: b.image for b in built}


def workload_image(images: dict[str, Image], w: Workload, side: str, iterations: int) -> Image:
    """The image to run: the bare image with ``bare`` = 1, or the system with its tenant's
    ``iterations``; the symbols are the tenant's under ``NAME:`` in a system."""
    from .bench import patch_symbol

    if side == "bare":
        return patch_symbol(patch_symbol(images[w.image], "iterations", iterations), "bare", 1)
    return patch_symbol(images[w.system], f"{w.name}:iterations", iterations)


def run_workload(images: dict[str, Image], w: Workload, side: str, iterations: int,
                 time_mode: str = "deterministic") -> Run:
    """One run, bare at EL1 or as a tenant at EL2; an EmuError unless it ended cleanly (bare:
    PSCI SYSTEM_OFF to the emulator; tenant: the hypervisor's semihosting exit 0 once its one
    tenant is off)."""
    from .machine import Console, Machine

    image = workload_image(images, w, side, iterations)
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), time_mode=time_mode,
                start_el=1 if side == "bare" else 2)
    m.load(image)
    t0 = time.perf_counter()
    r = m.run()
    seconds = time.perf_counter() - t0
    want = Stop.POWER_OFF if side == "bare" else Stop.SEMIHOST_EXIT
    if r.exit_code != 0 or r.diagnostic or r.stop is not want:
        raise EmuError(f"isolation benchmark {w.name} ({side}, {iterations} iterations) ended with "
                       f"{r.reason}, exit {r.exit_code} {r.diagnostic or ''}\n{m.console.text[-2000:]}")
    symbol = "result" if side == "bare" else f"{w.name}:result"
    value = int.from_bytes(m.read_phys(image.symbols[symbol], 8), "little")
    return Run(iterations, r, m.retired, m.clock.now(), seconds, value, m.console.text)


def iteration_counts(w: Workload, scale: float) -> tuple[int, int]:
    n, m = w.iterations
    n = max(1, int(n * scale))
    return n, max(n + 1, int(m * scale))


def measure_side(images: dict[str, Image], w: Workload, side: str, scale: float, repeat: int
                 ) -> tuple[Cost, list[Run]]:
    """Per-iteration cost of one side: runs of N and M iterations, ``repeat`` times each."""
    n, m = iteration_counts(w, scale)
    runs = {k: [run_workload(images, w, side, k) for _ in range(repeat)] for k in (n, m)}
    for k, rs in runs.items():
        if len({(r.retired, r.ticks, r.value) for r in rs}) != 1:
            raise EmuError(f"isolation benchmark {w.name} ({side}, {k} iterations): virtual time differs between "
                           f"runs: {[(r.retired, r.ticks) for r in rs]}")
    a, b = runs[n][0], runs[m][0]
    seconds = max(min(r.seconds for r in runs[m]) - min(r.seconds for r in runs[n]), 1e-12) / (m - n)
    return Cost((b.retired - a.retired) / (m - n), (b.ticks - a.ticks) / (m - n), seconds), runs[n] + runs[m]


def measure(names: list[str] | None = None, scale: float = 1.0, repeat: int = 3,
            images: dict[str, Image] | None = None, dma: bool = True, show: bool = False) -> list[Row]:
    """Every workload of ``names`` (default: all), and the DMA row; ``show`` prints each row
    as it is measured."""
    images = images if images is not None else build_images(names=names)
    rows = []
    if show:
        print_header()
    for w in WORKLOADS:
        if names is not None and w.name not in names:
            continue
        bare, bare_runs = measure_side(images, w, "bare", scale, repeat)
        tenant, tenant_runs = measure_side(images, w, "tenant", scale, repeat)
        rows.append(Row(w.name, w.unit, bare, tenant, {"bare": bare_runs, "tenant": tenant_runs}))
        if show:
            print_row(rows[-1])
    if dma and (names is None or "dma" in names):
        from .bench import dma_read_figures

        translated, direct = dma_read_figures(repeat, max(100, int(20_000 * scale)))
        rows.append(Row("dma", DMA_UNIT, Cost(None, None, direct), Cost(None, None, translated)))
        if show:
            print_row(rows[-1])
    if show:
        print(LEFT_OUT)
        sys.stdout.flush()
    return rows


# -- the table -------------------------------------------------------------------------------

_COLUMNS = (f"{'per iteration':<46} {'instructions bare/tenant':>26} {'x':>7}   "
            f"{'ticks bare/tenant':>21} {'x':>7}   {'host us bare/tenant':>23} {'x':>7}")


def print_header() -> None:
    print("isolation costs: tenant of the hypervisor / bare at EL1 (x: normalised to bare)")
    print(_COLUMNS)


def _pair(b: float | None, t: float | None, width: int, fmt: str) -> str:
    if b is None or t is None:
        return f"{'-':>{width}}"
    return f"{format(b, fmt)} / {format(t, fmt)}".rjust(width)


def _x(r: float | None) -> str:
    return f"{r:6.2f}x" if r is not None else f"{'-':>7}"


def format_row(row: Row) -> str:
    label = f"{row.name}: {row.unit}"
    return (f"{label:<46} {_pair(row.bare.insns, row.tenant.insns, 26, '11.1f')} {_x(row.ratio('insns'))}   "
            f"{_pair(row.bare.ticks, row.tenant.ticks, 21, '9.2f')} {_x(row.ratio('ticks'))}   "
            f"{_pair(row.bare.seconds * 1e6, row.tenant.seconds * 1e6, 23, '10.4f')} {_x(row.ratio('seconds'))}")


def print_row(row: Row) -> None:
    print(format_row(row))
    sys.stdout.flush()


def plot(rows: list[Row], out_dir: Path | str) -> Path:
    """``out_dir/isolation.png``: the normalised table as grouped bars, one group a row (log scale:
    the trapped rows cost tens of times the bare ones, the others about one)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "isolation.png"
    series = [("insns", "instructions"), ("ticks", "counter ticks"), ("seconds", "host time")]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(rows)), 4.5))
    for i, (what, label) in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(rows))]
        ys = [row.ratio(what) or 0.0 for row in rows]
        bars = ax.bar(xs, [y if y > 0 else float("nan") for y in ys], width, label=label)
        for bar, y in zip(bars, ys):
            if y > 0:
                ax.annotate(f"{y:.3g}", (bar.get_x() + bar.get_width() / 2, y), ha="center", va="bottom",
                            fontsize=7)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)), [row.name for row in rows])
    ax.set_ylabel("tenant / bare")
    ax.set_title("Isolation costs: a tenant of the hypervisor, normalised to bare at EL1")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
