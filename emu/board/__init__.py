"""Boards as data: a memory map and the devices wired into it (one TOML file per board).

A board file (``virt.toml`` is the example) has these keys; :func:`load_board` refuses any
other key, a value of the wrong type or range, and a map the machine cannot build, with one
line ``FILE: KEY: message``::

    name = "virt"                   # letters, digits, _ . -
    description = "..."             # optional
    cpu = "cortex-a53"              # optional; the only core modelled
    cores = 1                       # optional; 1 to 4 (emu/smp.py), --smp overrides it
    [memory.NAME]                   # at most 16 regions; memory.ram is required
    base = 0x40000000               # 4 KiB aligned
    size = 0x40000000               # 4 KiB pages; RAM at most RAM_SIZE_MAX, others REGION_SIZE_MAX
    access = "rwx"                  # optional: r, w, x in that order, at least one
    model = "pflash-cfi01"          # optional: a ROM device (MEMORY_MODELS) whose array the
                                    # region is: reads and fetches from memory, writes are its
                                    # commands; not for RAM
    banks = 2                       # optional, with model: that many equal devices side by side
    [[device]]                      # at most 64
    name = "uart0"                  # unique
    model = "pl011"                 # a model in DEVICE_MODELS
    base = 0x09000000               # 4 KiB aligned
    size = 0x1000                   # 4 KiB pages, at least the model's register window
    irq = 33                        # optional: an SPI of the GIC (32 .. 31 + num_spis), one device each
    [interrupt_controller]          # optional
    model = "gicv2"
    num_spis = 256                  # a multiple of 32, at most 960 (INTIDs up to 1019, IHI 0048B 4.3.2)
    frames = { gicd = ..., gicc = ..., gich = ..., gicv = ... }   # gicd and gicc required

Every window (memory region, device, GIC frame) lies below 1 TiB (the Cortex-A53's 40-bit
physical address space) and no two overlap.

RAM size: a whole number of 4 KiB pages, at most ``RAM_SIZE_MAX`` = 8 GiB, whether it comes
from the board file or from ``--ram`` (:meth:`Board.with_ram_size`). 8 GiB keeps the virt map's
RAM (at 0x4000_0000) well inside the 40-bit space and clear of QEMU virt's high MMIO (from
256 GiB), and it is a third of what this kind of host has, so a run cannot take the machine
down; the host memory behind RAM is reserved lazily, so a large RAM costs only what the guest
touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from ..devices.gicv2 import (NUM_PRIVATE, GicCpuInterface, GicDistributor, GicHypInterface,
                             GicVirtualCpuInterface)
from ..devices.fw_cfg import FwCfgMmio
from ..devices.gicv2m import Gicv2m
from ..devices.gpex import GpexEcam
from ..devices.pl011 import Pl011
from ..devices.pl031 import Pl031
from ..devices.pl061 import Pl061
from ..devices.smmuv3 import Smmuv3
from ..devices.toe import Toe
from ..devices.virtio_mmio import VirtioMmioBank
from ..errors import EmuError
from .schema import ArrayOf, Int, Invalid, Str, Table, TableOf, read_toml, show, validate

PAGE_SIZE = 0x1000
PA_LIMIT = 1 << 40             # Cortex-A53: 40-bit physical addresses (ID_AA64MMFR0_EL1.PARange)
RAM_SIZE_MAX = 8 << 30         # see the module docstring
REGION_SIZE_MAX = 1 << 30      # flash, ROM: any other memory region
DEVICE_SIZE_MAX = 256 << 20    # a device window (QEMU virt's largest, the PCIe ECAM, is 256 MiB)
MAX_REGIONS = 16
MAX_DEVICES = 64
SPI_FIRST = NUM_PRIVATE        # SGIs and PPIs are banked per CPU; devices drive SPIs
GICV2_MAX_SPIS = (1020 - NUM_PRIVATE) // 32 * 32   # INTIDs 1020-1023 are special (IHI 0048B 3.2.5)

#: Device models a board can name, by their MMIO register window. The machine has a factory
#: for each (emu/board/builder.py DEVICE_MODELS); tests/board checks that the two lists agree.
DEVICE_MODELS: dict[str, int] = {
    "pl011": Pl011.SIZE,
    "pl031": Pl031.SIZE,
    "pl061": Pl061.SIZE,
    "virtio-mmio": VirtioMmioBank.SIZE,
    "gicv2m": Gicv2m.SIZE,
    "gpex": GpexEcam.SIZE,
    "fw-cfg": FwCfgMmio.SIZE,
    "smmuv3": Smmuv3.SIZE,
    "toe": Toe.SIZE,
}

#: Models that drive more than one SPI: ``irq`` is the first, and they take this many in a row.
#: The SMMUv3's are QEMU virt's order: event queue, PRI queue (unused), CMD_SYNC, global error.
DEVICE_IRQ_COUNT: dict[str, int] = {"smmuv3": 4, "toe": 17}

#: ROM device models a memory region can be (``[memory.NAME] model``): the machine maps the
#: region as memory for reads and instruction fetches and hands writes to the model (emu/machine.py).
MEMORY_MODELS = ("pflash-cfi01",)

#: Interrupt controller models: each frame a board can place, with its size.
GIC_FRAMES: dict[str, dict[str, int]] = {
    "gicv2": {"gicd": GicDistributor.SIZE, "gicc": GicCpuInterface.SIZE,
              "gich": GicHypInterface.SIZE, "gicv": GicVirtualCpuInterface.SIZE},
}
GIC_REQUIRED_FRAMES = ("gicd", "gicc")  # gich and gicv exist only with the virtualization extensions


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    base: int
    size: int
    access: str = "rwx"
    model: str | None = None  # a ROM device model (MEMORY_MODELS) behind the region, if any
    banks: int = 1            # devices of that model, each size // banks bytes

    @property
    def end(self) -> int:
        return self.base + self.size

    @property
    def bank_size(self) -> int:
        return self.size // self.banks


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    model: str
    base: int
    size: int
    irq: int | None = None
    options: dict = field(default_factory=dict)  # no model takes options yet
    index: int = field(default=-1, compare=False)   # its place among the file's [[device]] entries


@dataclass(frozen=True)
class InterruptControllerSpec:
    """The GIC: its model and where each of its frames sits (GICD, GICC, GICH, GICV)."""

    model: str
    frames: dict[str, int]
    num_spis: int = 256

    @property
    def spis(self) -> range:
        """The SPI INTIDs this GIC has."""
        return range(SPI_FIRST, SPI_FIRST + self.num_spis)


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    cpu: str
    cores: int
    memory: dict[str, MemoryRegion]
    devices: list[DeviceSpec]
    interrupt_controller: InterruptControllerSpec | None = None
    source: str = ""  # the file it came from, for messages

    @property
    def ram(self) -> MemoryRegion:
        return self.memory["ram"]

    def device_spis(self) -> dict[int, str]:
        """SPI -> name of the board device wired to it."""
        return {d.irq: d.name for d in self.devices if d.irq is not None}

    def with_cores(self, cores: int) -> "Board":
        """This board with ``cores`` cores (``--smp``)."""
        return replace(self, cores=cores)

    def with_ram_size(self, size: int) -> "Board":
        """This board with ``size`` bytes of RAM (``--ram``): whole 4 KiB pages, at most
        RAM_SIZE_MAX, and clear of every other window; otherwise one EmuError line."""
        problem = ram_size_problem(size)
        if problem:
            raise EmuError(f"RAM size {show(size, hex=True)} {problem} (board {self.name})")
        mem = dict(self.memory)
        mem["ram"] = replace(self.ram, size=size)
        board = replace(self, memory=mem)
        _check_layout(board, f"board {self.name} with RAM size {size:#x}")
        return board


def ram_size_problem(size: object) -> str | None:
    """What is wrong with ``size`` as a RAM size, or None."""
    if isinstance(size, bool) or not isinstance(size, int):
        return "is not an integer"
    if size <= 0:
        return "is too small: RAM needs at least one 4 KiB page"
    if size % PAGE_SIZE:
        return "is not a whole number of 4 KiB pages"
    if size > RAM_SIZE_MAX:
        return f"is more than RAM_SIZE_MAX {RAM_SIZE_MAX:#x} (8 GiB)"
    return None


# ---------------------------------------------------------------------------------------
# The schema

_address = Int(0, PA_LIMIT - PAGE_SIZE, PAGE_SIZE, "4 KiB", hex=True)
_region = Table({
    "base": _address,
    "size": Int(hex=True),  # by region: _check_layout
    "access": Str(pattern=r"r?w?x?(?<=.)", what="r, w and/or x in that order"),  # (?<=.): not empty
    "model": Str(choices=MEMORY_MODELS),
    "banks": Int(1, 8),
}, frozenset({"base", "size"}))
_device = Table({
    "name": Str(pattern=r"[A-Za-z][A-Za-z0-9_]{0,31}", what="a letter followed by up to 31 letters, "
                                                           "digits or underscores"),
    "model": Str(choices=tuple(DEVICE_MODELS)),
    "base": _address,
    "size": Int(PAGE_SIZE, DEVICE_SIZE_MAX, PAGE_SIZE, "4 KiB", hex=True),
    "irq": Int(),  # its range depends on the GIC: _check_wiring
    # Present only when the board is loaded with this option, as QEMU's `-M virt,iommu=smmuv3`
    # adds its SMMU: `--board virt,iommu=smmuv3`.
    "when": Str(pattern=r"[a-z][a-z0-9_]*=[a-z0-9_]+", what="an option: key=value", max_len=64),
}, frozenset({"name", "model", "base", "size"}))
_gic = Table({
    "model": Str(choices=tuple(GIC_FRAMES)),
    "num_spis": Int(0, GICV2_MAX_SPIS, 32),
    "frames": Table({name: _address for name in GIC_FRAMES["gicv2"]}, frozenset(GIC_REQUIRED_FRAMES)),
}, frozenset({"model", "frames"}))
BOARD_SCHEMA = Table({
    "name": Str(pattern=r"[A-Za-z0-9_.-]{1,64}", what="1 to 64 letters, digits, _ . or -"),
    "description": Str(),
    "cpu": Str(choices=("cortex-a53",)),
    "cores": Int(1, 4),
    "memory": TableOf(_region, max_items=MAX_REGIONS),
    "device": ArrayOf(_device, MAX_DEVICES),
    "interrupt_controller": _gic,
}, frozenset({"name", "memory"}))


def _fail(source: str, key: str, message: str) -> None:
    raise EmuError(f"{source}: {key}: {message}")


def _windows(board: Board) -> list[tuple[str, int, int]]:
    """(key, base, end) of every address window the machine maps."""
    out = [(f"memory.{r.name}", r.base, r.end) for r in board.memory.values()]
    out += [(f"{_device_key(d, i)} ({d.name})", d.base, d.base + d.size) for i, d in enumerate(board.devices)]
    gic = board.interrupt_controller
    if gic is not None:
        sizes = GIC_FRAMES[gic.model]
        out += [(f"interrupt_controller.frames.{f}", base, base + sizes[f]) for f, base in gic.frames.items()]
    return out


def _check_layout(board: Board, source: str) -> None:
    """RAM within its limit, every window inside the physical address space, no overlaps."""
    if "ram" not in board.memory:
        _fail(source, "memory.ram", "missing (every board has RAM)")
    for r in board.memory.values():
        problem = ram_size_problem(r.size)
        if r.name != "ram" and not problem and r.size > REGION_SIZE_MAX:
            problem = f"is more than REGION_SIZE_MAX {REGION_SIZE_MAX:#x} (1 GiB)"
        if problem:
            _fail(source, f"memory.{r.name}.size", f"{r.size:#x} {problem}")
        if r.model is None and r.banks != 1:
            _fail(source, f"memory.{r.name}.banks", "needs a model")
        if r.model is not None and r.name == "ram":
            _fail(source, f"memory.{r.name}.model", "RAM is not a ROM device")
        if r.model is not None and (r.size % r.banks or r.bank_size % PAGE_SIZE):
            _fail(source, f"memory.{r.name}.banks", f"{r.banks} banks do not split {r.size:#x} into 4 KiB pages")
    windows = sorted(_windows(board), key=lambda w: (w[1], w[2]))
    for key, base, end in windows:
        if end > PA_LIMIT:
            _fail(source, key, f"{base:#x}-{end - 1:#x} reaches past the 40-bit physical address space")
    for (ka, a, a_end), (kb, b, b_end) in zip(windows, windows[1:]):
        if b < a_end:  # sorted by base; windows are disjoint iff each ends before the next begins
            _fail(source, kb, f"{b:#x}-{b_end - 1:#x} overlaps {ka} {a:#x}-{a_end - 1:#x}")


def _device_key(d: DeviceSpec, i: int) -> str:
    """How messages name a device: by its place in the board file."""
    return f"device[{d.index if d.index >= 0 else i}]"


def _check_wiring(board: Board, source: str) -> None:
    """Device names unique, windows big enough for their model, IRQs SPIs of the GIC, one device each."""
    gic = board.interrupt_controller
    names: set[str] = set()
    wired: dict[int, str] = {}
    for i, d in enumerate(board.devices):
        key = _device_key(d, i)
        if d.name in names:
            _fail(source, f"{key}.name", f"{d.name!r} names two devices")
        names.add(d.name)
        if d.size < DEVICE_MODELS[d.model]:
            _fail(source, f"{key}.size", f"{d.size:#x} is smaller than the {d.model} register window "
                                         f"{DEVICE_MODELS[d.model]:#x}")
        if d.irq is None:
            continue
        if gic is None:
            _fail(source, f"{key}.irq", "the board has no interrupt_controller to wire it to")
        for irq in range(d.irq, d.irq + DEVICE_IRQ_COUNT.get(d.model, 1)):
            if irq not in gic.spis:
                spis = f"SPIs {SPI_FIRST}..{SPI_FIRST + gic.num_spis - 1}" if gic.num_spis else "no SPIs (num_spis 0)"
                _fail(source, f"{key}.irq", f"{irq} is not an SPI of the GIC, which has {spis}; "
                                            "0-31 are SGIs and per-CPU PPIs")
            if irq in wired:
                _fail(source, f"{key}.irq", f"SPI {irq} is already wired to {wired[irq]}")
            wired[irq] = d.name


def board_from_data(data: dict, source: str, options: frozenset[str] = frozenset()) -> Board:
    """A checked :class:`Board` from a parsed board file; every problem is one EmuError line.
    ``options`` (``key=value``) switch on the devices whose ``when`` names them; one that no
    device names is refused."""
    data = validate(data, BOARD_SCHEMA, source)
    memory = {n: MemoryRegion(n, m["base"], m["size"], m.get("access", "rwx"), m.get("model"), m.get("banks", 1))
              for n, m in data["memory"].items()}
    known = sorted({d["when"] for d in data.get("device", []) if "when" in d})
    for option in sorted(options):
        if option not in known:
            raise EmuError(f"{source}: board {data['name']} has no option {show(option)} "
                           f"({'options: ' + ', '.join(known) if known else 'it takes none'})")
    devices = [DeviceSpec(d["name"], d["model"], d["base"], d["size"], d.get("irq"), index=i)
               for i, d in enumerate(data.get("device", [])) if d.get("when") is None or d["when"] in options]
    ic = data.get("interrupt_controller")
    gic = None if ic is None else InterruptControllerSpec(ic["model"], ic["frames"], ic.get("num_spis", 256))
    board = Board(data["name"], data.get("description", ""), data.get("cpu", "cortex-a53"), data.get("cores", 1),
                  memory, devices, gic, source)
    _check_layout(board, source)
    _check_wiring(board, source)
    return board


def known_boards() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(__package__).iterdir() if p.name.endswith(".toml"))


def load_board(name_or_path: str = "virt") -> Board:
    """Load a board by name (``virt``) or from a TOML file path, with options after commas as
    QEMU's ``-M`` takes them: ``virt,iommu=smmuv3``."""
    name_or_path, *opts = name_or_path.split(",")
    for opt in opts:
        if "=" not in opt:
            raise EmuError(f"board option {show(opt)} is not key=value (as in virt,iommu=smmuv3)")
    path = Path(name_or_path)
    if path.suffix != ".toml" and not path.exists():
        if name_or_path not in known_boards():
            raise EmuError(f"unknown board {show(name_or_path)} (known: {', '.join(known_boards())}; "
                           "or give a .toml file)")
        path = Path(str(resources.files(__package__).joinpath(f"{name_or_path}.toml")))
    return board_from_data(read_toml(path), str(path), frozenset(opts))
