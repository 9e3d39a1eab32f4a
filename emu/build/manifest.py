"""Partition manifests (TOML data) and the system images packed from them.

A manifest says which hypervisor image runs and which tenants it partitions the machine
into (the idea of Hafnium's manifest: partitions are data, not code)::

    hypervisor = "hyp"          # image name from images.toml
    quantum_us = 2000           # optional time slice in microseconds; 0 or absent: cooperative
    pool = 0x1000000            # optional free pool at POOL_PA, a multiple of 2 MiB: what the
                                # manager hands to running tenants (docs/dynamic.md)
    scheduler = "primary"       # optional: the manager schedules the others with FFA_RUN, as
                                # Hafnium's primary (default "hypervisor"); then no quantum_us, and
                                # every tenant one vCPU on core 0
    [[tenant]]
    name = "hello"              # console tag: 1..31 of A-Z a-z 0-9 _ . -
    image = "hello"             # image name from images.toml, linked at TENANT_IPA_BASE
    # image = "out/app.elf"     # or a prebuilt file (see below)
    # raw = 0x40000000          # with a file image: a raw binary, loaded and entered at this IPA
    memory = 0x200000           # bytes of RAM: a multiple of 2 MiB, at most TENANT_PA_STRIDE
    # pa = 0x41000000           # optional; default TENANT_PA_BASE + index * TENANT_PA_STRIDE
    # irqs = [48, 49]           # optional SPIs (INTID 32..95) the tenant owns, each at most one tenant's
    # cores = [1, 2]            # optional physical cores, one vCPU on each (default [0]): vCPU 0
                                # boots on the first, the others start with PSCI CPU_ON
    # manager = true            # optional: this tenant may call HYP_PART_INFO, HYP_MEM_GRANT and
                                # HYP_MEM_RECLAIM (firmware/include/smccc.inc); one at most
    # console_input = true      # optional: what is typed at the console goes to this tenant's
                                # UART, with its INTID 33 (docs/dynamic.md); one at most
    # start = false             # optional: not started at boot; the manager starts it
    # toe = { sessions = 2, listen = [7000], connect = "127.0.0.1:9000" }
                                # optional share of the TCP offload engine: its sessions (their
                                # pages at IPA TENANT_TOE_IPA), up to two ports to listen on, and
                                # one address (and port, or any) to connect to; needs the board's
                                # TOE and SMMU (emu run --toe ...)

**Prebuilt tenants.** An ``image`` that contains ``/`` or ends in ``.elf`` or ``.bin`` is a file,
not an image name: any toolchain's output. It is looked for relative to the manifest's
directory, then to the project root (the directory with images.toml). It is read as an ELF
linked at TENANT_IPA_BASE (0x4000_0000: every segment inside the tenant's IPA window, the
entry in the image), unless ``raw = IPA`` is given: then it is a raw binary loaded and entered
at that IPA, as ``emu run --raw`` does. A ``.bin`` file needs ``raw``.

What the hypervisor can enforce (``manifest_validate`` in hyp_manifest.inc checks it again at
boot) is refused here already, so that a bad manifest fails the build rather than the run:
a tenant's RAM lies in the board's RAM (virt: 0x4000_0000, 1 GiB) and below PA_LIMIT (the
4 GiB its stage 2 maps), overlaps no other tenant, the hypervisor or the blob; its name is a
console tag that cannot forge another (``[hyp]x`` would, so ``[`` and ``]`` are refused with
everything outside the safe set); and its SPIs are neither another tenant's nor wired to one of
the board's own devices (the UART's SPI 33 stays the hypervisor's).

The time slice goes into the blob in counter ticks (MF_QUANTUM), converted at the board's
CNTFRQ of 62.5 MHz and rounded down; the SPIs as a bitmap (MT_SPIS, bit n = INTID 32 + n); the cores as MT_VCPUS and one byte per vCPU
(MT_CORES). Tenants may share a core (each core time-slices the vCPUs pinned to it); a tenant
names each core once, since two of its vCPUs on one core would only take turns.

:func:`pack_system` turns the hypervisor image and the tenant images into one
:class:`SystemImage`: the hypervisor's segments as they are, the manifest blob at
MANIFEST_PA (layout: ``firmware/include/manifest.inc``; every offset is read from there),
and each tenant's segments moved from its IPA window to its physical RAM. The hypervisor
reads the blob to build each tenant's stage-2 tables and start it at its entry IPA.

Symbols of the system image: the hypervisor's under their own names, each tenant's as
``tenant:label`` at the physical address. :attr:`SystemImage.tenants` keeps, per tenant,
the IPA window, the PA, the entry and the tenant image's own symbols at IPAs, so that a
trace can name an EL1 PC (an IPA while stage 1 is off). For a system image loaded back from
an ELF file, :func:`read_placements` rebuilds the same list from the blob and the
``tenant:label`` symbols.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Collection, Mapping

from emu.board import Board, load_board
from emu.board.schema import ArrayOf, Bool, Int, Str, Table, read_toml, show, validate
from emu.loader.constants import firmware_constants
from emu.errors import EmuError
from emu.loader.image import Image, Segment
from emu.loader.placements import NAME_FIELD_BYTES, SPI_COUNT, SPI_FIRST, TenantPlacement, ToeShare
from emu.loader.placements import require as _require

SZ_2M = 2 << 20
CNTFRQ_HZ = 62_500_000  # the counter frequency of the board (QEMU virt): MF_QUANTUM is in its ticks
QUANTUM_US_MAX = 10_000_000  # a slice longer than 10 s is a mistake, not a schedule
BOARD = "virt"          # the board the firmware is built for (firmware/include/board.inc)

#: A tenant name is its console tag, ``[name]``: letters, digits and ``_ . -`` only, so that no
#: name can close the tag early, start a line or carry a terminal escape.
TENANT_NAME = re.compile(rf"[A-Za-z0-9_.-]{{1,{NAME_FIELD_BYTES - 1}}}")
TENANT_NAME_MAX = NAME_FIELD_BYTES - 1
_NAME_RULE = f"1 to {TENANT_NAME_MAX} of A-Z a-z 0-9 _ . -"
#: An ``image`` that names a file rather than an image of images.toml.
IMAGE_FILE_SUFFIXES = (".elf", ".bin")

MANIFEST_SCHEMA = Table({
    "hypervisor": Str(pattern=r"\S+", what="an image name", max_len=100),
    "quantum_us": Int(0, QUANTUM_US_MAX),
    "pool": Int(0, hex=True),
    "scheduler": Str(choices=("hypervisor", "primary")),
    "tenant": ArrayOf(Table({
        "name": Str(pattern=TENANT_NAME.pattern, what=_NAME_RULE),
        "image": Str(pattern=r"\S+", what="an image name or file", max_len=4096),
        "raw": Int(0, (1 << 64) - 1, hex=True),
        "memory": Int(hex=True),
        "pa": Int(hex=True),
        "irqs": ArrayOf(Int(), SPI_COUNT),
        "cores": ArrayOf(Int(), 64, min_items=1),
        "manager": Bool(),
        "console_input": Bool(),
        "start": Bool(),
        "toe": Table({
            "sessions": Int(1, 16),
            "listen": ArrayOf(Int(1, 65535), 2),
            "connect": Str(pattern=r"\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?", what="IPV4 or IPV4:PORT", max_len=21),
        }, frozenset({"sessions"})),
    }, frozenset({"name", "image", "memory"})), max_items=64, min_items=1),
}, frozenset({"hypervisor", "tenant"}))


@lru_cache(maxsize=None)
def firmware_board() -> Board:
    """The board the firmware is built for, whose RAM and device SPIs a manifest must respect."""
    return load_board(BOARD)


def is_image_file(image: str) -> bool:
    """Whether a manifest's ``image`` names a prebuilt file (``/`` in it, or ``.elf``/``.bin``)."""
    return "/" in image or image.endswith(IMAGE_FILE_SUFFIXES)


def load_tenant_file(path: Path | str, raw: int | None = None) -> Image:
    """A prebuilt tenant image: an ELF, or with ``raw`` a raw binary loaded and entered there."""
    from emu.loader.elf import load_elf
    from emu.loader.raw import load_raw

    return load_raw(path, raw) if raw is not None else load_elf(path)


def unique_tenant_names(requested: list[tuple[str | None, str]]) -> list[str]:
    """Names for tenants given as ``(name or None, file)``, e.g. by ``emu run --tenant [NAME=]FILE``.

    A given name is kept; a missing one is the file's stem, and a stem already taken (the same
    file twice, or two files of one stem) gets ``.1``, ``.2``... : ``counter``, ``counter.1``.
    Every name must be a console tag (:data:`TENANT_NAME`); one line says which is not.
    """
    names: list[str | None] = []
    taken: set[str] = set()
    for name, file in requested:
        if name is not None:
            _check_name(name, f"--tenant {name}={file}")
            if name in taken:
                raise EmuError(f"--tenant {name}={file}: name {name!r} is given to two tenants")
            taken.add(name)
        names.append(name)
    for i, ((name, file), given) in enumerate(zip(requested, names)):
        if given is not None:
            continue
        stem = Path(file).stem
        _check_name(stem, f"--tenant {file}", hint=True)
        name, n = stem, 0
        while name in taken:
            n += 1
            name = f"{stem}.{n}"
        _check_name(name, f"--tenant {file}", hint=True)
        taken.add(name)
        names[i] = name
    return names


def _check_name(name: str, where: str, hint: bool = False) -> None:
    how = "; give one as NAME=FILE" if hint else ""
    if len(name) > TENANT_NAME_MAX:
        raise EmuError(f"{where}: tenant name {show(name)} is {len(name)} characters; at most "
                       f"{TENANT_NAME_MAX}{how}")
    if not TENANT_NAME.fullmatch(name):
        raise EmuError(f"{where}: tenant name {show(name)} is not {_NAME_RULE}{how}")


def parse_time_slice(text: str) -> int:
    """``--time-slice``: a duration with a unit (``2ms``, ``500us``, ``1s``; ``0`` alone for
    cooperative scheduling) as the manifest's quantum_us, in whole microseconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(us|ms|s)?\s*", text)
    if not m or m.group(2) is None and float(m.group(1)) != 0:
        raise EmuError(f"--time-slice {text!r}: give a duration with a unit: 2ms, 500us, 1s (or 0: cooperative)")
    scale = {"us": 1, "ms": 1000, "s": 1_000_000, None: 1}[m.group(2)]
    from fractions import Fraction

    us = Fraction(m.group(1)) * scale
    if us.denominator != 1:
        raise EmuError(f"--time-slice {text!r}: not a whole number of microseconds")
    if us > QUANTUM_US_MAX:
        raise EmuError(f"--time-slice {text!r}: at most {QUANTUM_US_MAX // 1_000_000} s (quantum_us {QUANTUM_US_MAX})")
    return int(us)


def quantum_ticks(quantum_us: int) -> int:
    """A time slice in microseconds as counter ticks at CNTFRQ_HZ, rounded down."""
    return quantum_us * CNTFRQ_HZ // 1_000_000


def spi_bitmap(irqs: Collection[int]) -> int:
    """MT_SPIS for a set of SPI INTIDs: bit n = INTID SPI_FIRST + n."""
    return sum(1 << (irq - SPI_FIRST) for irq in set(irqs))


@dataclass(frozen=True)
class TenantSpec:
    """One ``[[tenant]]`` entry of a manifest."""

    name: str
    image: str
    memory: int
    pa: int | None = None
    irqs: tuple[int, ...] = ()
    cores: tuple[int, ...] = (0,)
    toe: ToeShare | None = None
    manager: bool = False
    console_input: bool = False
    start: bool = True
    file: Path | None = None   # a prebuilt image (``image`` names a file), found
    raw: int | None = None     # ... and read as a raw binary loaded and entered at this IPA

    def load_file(self) -> Image:
        """The prebuilt image of a tenant whose ``image`` is a file."""
        assert self.file is not None
        return load_tenant_file(self.file, self.raw)


@dataclass(frozen=True)
class Manifest:
    """A parsed and checked manifest file."""

    path: Path
    hypervisor: str
    tenants: tuple[TenantSpec, ...]
    quantum_us: int = 0
    pool: int = 0
    scheduler: str = "hypervisor"

    @property
    def quantum_ticks(self) -> int:
        return quantum_ticks(self.quantum_us)


@dataclass
class SystemImage(Image):
    """The hypervisor, the manifest blob and the tenants' RAM contents, as one loadable image."""

    tenants: list[TenantPlacement] = field(default_factory=list)
    symbol_types: dict[str, str] = field(default_factory=dict)

    def tenant_at(self, pa: int) -> TenantPlacement | None:
        """The tenant whose RAM contains physical address ``pa``."""
        return next((t for t in self.tenants if t.pa <= pa < t.pa + t.size), None)


# ---------------------------------------------------------------------------------------
# Reading manifests

def load_manifest(path: Path | str, images: Collection[str] | None = None,
                  constants: Mapping[str, int] | None = None, board: Board | None = None,
                  root: Path | str | None = None) -> Manifest:
    """Read and check a manifest; ``images`` (if given) are the image names that exist;
    ``root`` (the project root) is the second place a tenant's image file is looked for.

    Every problem is an :class:`EmuError` of one line naming the file and the key or tenant.
    """
    path = Path(path)
    c = constants if constants is not None else firmware_constants()
    data = validate(read_toml(path), MANIFEST_SCHEMA, path)
    hyp = data["hypervisor"]
    if images is not None and hyp not in images:
        raise EmuError(f"{path}: hypervisor: image {show(hyp)} is not declared in images.toml")
    entries = data["tenant"]
    max_tenants = _require(c, "MAX_TENANTS")
    if len(entries) > max_tenants:
        raise EmuError(f"{path}: tenant: {len(entries)} tenants; at most MAX_TENANTS = {max_tenants}")

    tenants: list[TenantSpec] = []
    for entry in entries:
        where = f"{path}: tenant {entry['name']!r}"
        if any(t.name == entry["name"] for t in tenants):
            raise EmuError(f"{where}: name used by two tenants")
        file, raw = None, entry.get("raw")
        if is_image_file(entry["image"]):
            file = _find_image_file(entry["image"], path, root, where)
            if raw is None and file.suffix == ".bin":
                raise EmuError(f"{where}: image {show(entry['image'])} is a raw binary: give raw = the IPA "
                               f"to load and enter it at (TENANT_IPA_BASE {_require(c, 'TENANT_IPA_BASE'):#x})")
        elif raw is not None:
            raise EmuError(f"{where}: raw goes with an image file (a path, .elf or .bin), not image name "
                           f"{show(entry['image'])}")
        elif images is not None and entry["image"] not in images:
            raise EmuError(f"{where}: image {show(entry['image'])} is not declared in images.toml")
        cores = tuple(entry.get("cores", (0,)))
        _check_cores(cores, c, where)
        toe = _toe_share(entry.get("toe"), where)
        tenants.append(TenantSpec(entry["name"], entry["image"], entry["memory"], entry.get("pa"),
                                  tuple(entry.get("irqs", ())), cores, toe, entry.get("manager", False),
                                  entry.get("console_input", False), entry.get("start", True), file, raw))
    _check_toe_sessions([t.toe for t in tenants], c, str(path))
    board = board or firmware_board()
    pool = data.get("pool", 0)
    _check_managers([(t.name, t.manager) for t in tenants], str(path))
    _check_managers([(t.name, t.console_input) for t in tenants], str(path), "console_input",
                    "gets the console's input")
    scheduler = data.get("scheduler", "hypervisor")
    _check_scheduler(scheduler, data.get("quantum_us", 0), [(t.name, t.manager, t.cores) for t in tenants],
                     str(path))
    _check_layout([(t.name, t.memory, t.pa) for t in tenants], c, str(path), board, pool)
    _check_irqs([(t.name, t.irqs) for t in tenants], str(path), board)
    return Manifest(path=path, hypervisor=hyp, tenants=tuple(tenants), quantum_us=data.get("quantum_us", 0),
                    pool=pool, scheduler=scheduler)


def _check_scheduler(scheduler: str, quantum_us: int, tenants: list[tuple[str, bool, tuple[int, ...]]],
                     source: str) -> None:
    """A primary that schedules (hyp_ffa.inc) is the manager; it takes the place of the time slice;
    and this version runs every tenant as one vCPU on core 0."""
    if scheduler != "primary":
        return
    if not any(manager for _, manager, _ in tenants):
        raise EmuError(f"{source}: scheduler = \"primary\" needs a tenant with manager = true to be the primary")
    if quantum_us:
        raise EmuError(f"{source}: scheduler = \"primary\": the primary schedules, so no quantum_us")
    for name, _, cores in tenants:
        if tuple(cores) != (0,):
            raise EmuError(f"{source}: tenant {name!r}: cores {list(cores)}: under a primary every tenant is "
                           "one vCPU on core 0")


def _check_managers(tenants: list[tuple[str, bool]], source: str, key: str = "manager",
                    what: str = "manages the others") -> None:
    """At most one tenant manages the others (or, with ``key``, has another role of one)."""
    managers = [name for name, manager in tenants if manager]
    if len(managers) > 1:
        raise EmuError(f"{source}: tenants {managers[0]!r} and {managers[1]!r} are both {key} = true; "
                       f"one tenant at most {what}")


def _find_image_file(image: str, manifest: Path, root: Path | str | None, where: str) -> Path:
    """A tenant's image file: relative to the manifest's directory, then to the project root."""
    places = [manifest.parent] + ([Path(root)] if root is not None else [])
    for place in places:
        candidate = place / image
        if candidate.is_file():
            return candidate
    looked = " or ".join(str(p) for p in places) if not Path(image).is_absolute() else "that path"
    raise EmuError(f"{where}: image file {show(image)} not found (looked in {looked})")


def _toe_share(data: dict | None, where: str) -> ToeShare | None:
    """A manifest's ``toe`` table as a ToeShare."""
    if data is None:
        return None
    addr, port = 0, 0
    if "connect" in data:
        host, _, port_text = data["connect"].partition(":")
        try:
            addr = int(ipaddress.IPv4Address(host))
        except ValueError:
            raise EmuError(f"{where}: toe.connect: {host!r} is not an IPv4 address") from None
        port = int(port_text) if port_text else 0
        if port > 65535 or addr == 0:
            raise EmuError(f"{where}: toe.connect: {data['connect']!r} is not an address and port to reach")
    listen = tuple(data.get("listen", ()))
    if len(set(listen)) != len(listen):
        raise EmuError(f"{where}: toe.listen: {list(listen)} names a port twice")
    return ToeShare(data["sessions"], listen, addr, port)


def _check_toe_sessions(shares, c: Mapping[str, int], source: str) -> None:
    """The tenants' sessions fit the TOE's (toe.inc: TOE_SESSIONS), given out in tenant order."""
    total = sum(s.sessions for s in shares if s is not None)
    if total > _require(c, "TOE_SESSIONS"):
        raise EmuError(f"{source}: toe: the tenants ask for {total} sessions; the TOE has "
                       f"TOE_SESSIONS = {_require(c, 'TOE_SESSIONS')}")


def _check_cores(cores: Collection[int], c: Mapping[str, int], where: str) -> None:
    """A tenant's cores: 1..MAX_VCPUS of them, each a core the hypervisor schedules, none twice."""
    max_cores, max_vcpus = _require(c, "MAX_CORES"), _require(c, "MAX_VCPUS")
    if not 1 <= len(cores) <= max_vcpus:
        raise EmuError(f"{where}: cores: {len(cores)} cores; a tenant has 1 to MAX_VCPUS = {max_vcpus}")
    for core in cores:
        if not isinstance(core, int) or not 0 <= core < max_cores:
            raise EmuError(f"{where}: cores: core {show(core)} is not 0..{max_cores - 1} (MAX_CORES {max_cores})")
    if len(set(cores)) != len(cores):
        raise EmuError(f"{where}: cores: {list(cores)} names a core twice")


def _check_irqs(tenants: list[tuple[str, Collection[int]]], source: str, board: Board) -> None:
    """Each SPI belongs to at most one tenant: an interrupt is part of one partition, and the
    hypervisor injects it into its owner only. SGIs, PPIs and INTIDs past MT_SPIS are not
    assignable (every tenant has its own SGIs and virtual timer PPI), and neither are the SPIs
    of the board's own devices (the UART is the hypervisor's console)."""
    owner: dict[int, str] = {}
    devices = board.device_spis()
    for name, irqs in tenants:
        where = f"{source}: tenant {name!r}"
        for irq in irqs:
            if not SPI_FIRST <= irq < SPI_FIRST + SPI_COUNT:
                raise EmuError(f"{where}: irq {irq} is not an SPI the manifest can assign "
                               f"({SPI_FIRST}..{SPI_FIRST + SPI_COUNT - 1})")
            if irq in devices:
                raise EmuError(f"{where}: irq {irq} is the SPI of board {board.name}'s device "
                               f"{devices[irq]}, not a tenant's")
            if irq in owner:
                if owner[irq] == name:
                    raise EmuError(f"{where}: irq {irq} is listed twice")
                raise EmuError(f"{where}: irq {irq} is already given to tenant {owner[irq]!r}")
            owner[irq] = name


def _check_layout(tenants: list[tuple[str, int, int | None]], c: Mapping[str, int], source: str,
                  board: Board, pool: int = 0) -> list[int]:
    """Check sizes and physical ranges (the tenants' RAM and the free pool); return each tenant's PA."""
    stride = _require(c, "TENANT_PA_STRIDE")
    base = _require(c, "TENANT_PA_BASE")
    ram = _require(c, "RAM_BASE")
    pa_limit = _require(c, "PA_LIMIT")
    board_ram = board.ram
    pool_pa, pool_max = _require(c, "POOL_PA"), _require(c, "POOL_BLOCKS_MAX") * SZ_2M
    if pool % SZ_2M or not 0 <= pool <= pool_max:
        raise EmuError(f"{source}: pool {pool:#x} is not a multiple of 2 MiB up to POOL_BLOCKS_MAX blocks "
                       f"({pool_max:#x})")
    if pool and (pool_pa < board_ram.base or pool_pa + pool > board_ram.end):
        raise EmuError(f"{source}: pool {pool_pa:#x}-{pool_pa + pool - 1:#x} lies outside the RAM of board "
                       f"{board.name}")
    pas = []
    for index, (name, memory, pa) in enumerate(tenants):
        where = f"{source}: tenant {name!r}"
        if memory <= 0 or memory % SZ_2M:
            raise EmuError(f"{where}: memory {memory:#x} is not a positive multiple of 2 MiB")
        if memory > stride:
            raise EmuError(f"{where}: memory {memory:#x} exceeds TENANT_PA_STRIDE {stride:#x}")
        if pa is None:
            pa = base + index * stride
        elif pa % SZ_2M:
            raise EmuError(f"{where}: pa {pa:#x} is not 2 MiB aligned")
        if pa < ram:
            raise EmuError(f"{where}: pa {pa:#x} is below RAM_BASE {ram:#x}")
        if pa + memory > pa_limit:
            raise EmuError(f"{where}: RAM {pa:#x}-{pa + memory - 1:#x} is past PA_LIMIT {pa_limit:#x}, "
                           "the physical addresses the hypervisor's stage 2 maps")
        if pa < board_ram.base or pa + memory > board_ram.end:
            raise EmuError(f"{where}: RAM {pa:#x}-{pa + memory - 1:#x} lies outside the RAM of board "
                           f"{board.name} {board_ram.base:#x}-{board_ram.end - 1:#x}")
        if pool and pa < pool_pa + pool and pool_pa < pa + memory:
            raise EmuError(f"{where}: RAM {pa:#x}-{pa + memory - 1:#x} overlaps the pool "
                           f"{pool_pa:#x}-{pool_pa + pool - 1:#x}")
        for other, (oname, omem, _) in enumerate(tenants[:index]):
            if pa < pas[other] + omem and pas[other] < pa + memory:
                raise EmuError(f"{where}: RAM {pa:#x}-{pa + memory - 1:#x} overlaps tenant "
                               f"{oname!r} at {pas[other]:#x}-{pas[other] + omem - 1:#x}")
        pas.append(pa)
    return pas


# ---------------------------------------------------------------------------------------
# Packing a system image

def manifest_blob(placements: list[TenantPlacement], constants: Mapping[str, int] | None = None,
                  quantum: int = 0, pool: int = 0, scheduler: str = "hypervisor") -> bytes:
    """The manifest blob the hypervisor reads at MANIFEST_PA (layout: manifest.inc).

    ``quantum`` is the time slice in counter ticks (MF_QUANTUM), 0 for cooperative scheduling;
    ``pool`` the bytes of free pool (MF_POOL_SIZE); ``scheduler`` who schedules (MF_SCHEDULER).
    """
    c = constants if constants is not None else firmware_constants()
    first, size = _require(c, "MF_TENANTS"), _require(c, "MF_TENANT_SIZE")
    if _require(c, "MT_NAME_SIZE") != NAME_FIELD_BYTES:
        raise EmuError(f"firmware MT_NAME_SIZE {_require(c, 'MT_NAME_SIZE')} is not the {NAME_FIELD_BYTES} "
                       "bytes this packer writes")
    blob = bytearray(first + size * len(placements))
    struct.pack_into("<Q", blob, _require(c, "MF_MAGIC"), _require(c, "MANIFEST_MAGIC"))
    struct.pack_into("<I", blob, _require(c, "MF_VERSION"), _require(c, "MANIFEST_VERSION"))
    struct.pack_into("<I", blob, _require(c, "MF_TENANT_COUNT"), len(placements))
    struct.pack_into("<Q", blob, _require(c, "MF_QUANTUM"), quantum)
    struct.pack_into("<Q", blob, _require(c, "MF_POOL_SIZE"), pool)
    struct.pack_into("<Q", blob, _require(c, "MF_SCHEDULER"),
                     _require(c, "SCHEDULER_PRIMARY") if scheduler == "primary" else 0)
    for t in placements:
        rec = first + t.index * size
        struct.pack_into("<Q", blob, rec + _require(c, "MT_IPA_BASE"), t.ipa)
        struct.pack_into("<Q", blob, rec + _require(c, "MT_PA_BASE"), t.pa)
        struct.pack_into("<Q", blob, rec + _require(c, "MT_SIZE"), t.size)
        struct.pack_into("<Q", blob, rec + _require(c, "MT_ENTRY"), t.entry)
        struct.pack_into("<I", blob, rec + _require(c, "MT_ID"), t.index)
        struct.pack_into("<I", blob, rec + _require(c, "MT_FLAGS"),
                         (_require(c, "MTF_MANAGER") if t.manager else 0)
                         | (_require(c, "MTF_CONSOLE_IN") if t.console_input else 0)
                         | (0 if t.start else _require(c, "MTF_DEFERRED")))
        name = t.name.encode("ascii")
        struct.pack_into(f"{NAME_FIELD_BYTES}s", blob, rec + _require(c, "MT_NAME"), name)
        struct.pack_into("<Q", blob, rec + _require(c, "MT_SPIS"), spi_bitmap(t.irqs))
        struct.pack_into("<I", blob, rec + _require(c, "MT_VCPUS"), len(t.cores))
        struct.pack_into(f"{len(t.cores)}B", blob, rec + _require(c, "MT_CORES"), *t.cores)
        if t.toe is not None:
            ports = (list(t.toe.listen) + [0, 0])[:2]
            struct.pack_into("<IIII", blob, rec + _require(c, "MT_TOE_SESSIONS"), t.toe.sessions,
                             ports[0] | ports[1] << 16, t.toe.connect_addr, t.toe.connect_port)
    return bytes(blob)


def pack_system(hyp: Image, tenants: list[tuple], constants: Mapping[str, int] | None = None,
                name: str = "system", quantum: int = 0, board: Board | None = None, pool: int = 0,
                scheduler: str = "hypervisor") -> SystemImage:
    """One image with the hypervisor, the manifest blob at MANIFEST_PA and every tenant's RAM.

    ``tenants`` are ``(name, image, memory, pa)``, ``(name, image, memory, pa, irqs)`` or
    ``(name, image, memory, pa, irqs, cores)``, then ``toe`` (a ToeShare) and ``manager``;
    ``pa`` None means the default slot
    ``TENANT_PA_BASE + index * TENANT_PA_STRIDE``; ``irqs`` are the SPIs the tenant owns;
    ``cores`` the physical core of each of its vCPUs (default ``(0,)``). Tenant images must be linked inside
    ``[TENANT_IPA_BASE, TENANT_IPA_BASE + memory)``. ``quantum`` is the time slice in counter
    ticks (see :func:`quantum_ticks`), 0 for cooperative scheduling; ``pool`` the bytes of free
    pool at POOL_PA.
    """
    c = constants if constants is not None else firmware_constants()
    max_tenants = _require(c, "MAX_TENANTS")
    if not tenants:
        raise EmuError(f"{name}: a system needs at least one tenant")
    if len(tenants) > max_tenants:
        raise EmuError(f"{name}: {len(tenants)} tenants; at most MAX_TENANTS = {max_tenants}")
    defaults = ((), (0,), None, False, False, True)     # irqs, cores, toe, manager, console_input, start
    tenants = [(*t, *defaults[max(0, len(t) - 4):])[:10] for t in tenants]
    _check_toe_sessions([t[6] for t in tenants], c, name)
    _check_managers([(t[0], t[7]) for t in tenants], name)
    _check_managers([(t[0], t[8]) for t in tenants], name, "console_input", "gets the console's input")
    for tname, *_, cores, _toe, _manager, _console, _start in tenants:
        if not isinstance(tname, str) or not TENANT_NAME.fullmatch(tname):
            raise EmuError(f"{name}: tenant name {show(tname)} is not {_NAME_RULE}")
        _check_cores(tuple(cores), c, f"{name}: tenant {tname!r}")
    board = board or firmware_board()
    pas = _check_layout([(t[0], t[2], t[3]) for t in tenants], c, name, board, pool)
    _check_irqs([(t[0], t[4]) for t in tenants], name, board)
    if not 0 <= quantum < 1 << 63:
        raise EmuError(f"{name}: time slice {quantum} ticks is out of range")
    ipa = _require(c, "TENANT_IPA_BASE")

    placements: list[TenantPlacement] = []
    segments: list[tuple[str, Segment]] = [("hypervisor", s) for s in hyp.segments]
    symbols = dict(hyp.symbols)
    types = dict(getattr(hyp, "symbol_types", {}) or {})
    for index, ((tname, image, memory, _, irqs, cores, toe, manager, console, start), pa) in enumerate(
            zip(tenants, pas)):
        where = f"{name}: tenant {tname!r} (image {image.name})"
        for seg in image.segments:
            if seg.addr < ipa or seg.addr >= ipa + memory:
                raise EmuError(f"{where}: segment {seg.addr:#x}-{seg.end - 1:#x} lies outside the "
                               f"tenant's IPA window {ipa:#x}-{ipa + memory - 1:#x}: link it at "
                               f"TENANT_IPA_BASE {ipa:#x}")
            if seg.end > ipa + memory:
                raise EmuError(f"{where}: image needs {seg.end - ipa:#x} bytes but the tenant has "
                               f"memory {memory:#x}")
            segments.append((f"tenant {tname!r}", Segment(seg.addr - ipa + pa, seg.data, seg.memsz, seg.flags)))
        if not image.contains(image.entry) or image.entry % 4:
            raise EmuError(f"{where}: entry {image.entry:#x} is outside the image or not word aligned")
        placements.append(TenantPlacement(tname, index, ipa, pa, memory, image.entry,
                                          dict(image.symbols), image.name, tuple(sorted(irqs)), tuple(cores),
                                          toe, bool(manager), bool(console), bool(start)))
        tenant_types = getattr(image, "symbol_types", {}) or {}
        for label, addr in image.symbols.items():
            symbols[f"{tname}:{label}"] = addr - ipa + pa
            if label in tenant_types:
                types[f"{tname}:{label}"] = tenant_types[label]

    blob_pa = _require(c, "MANIFEST_PA")
    _check_scheduler(scheduler, quantum, [(t.name, t.manager, t.cores) for t in placements], name)
    blob = manifest_blob(placements, c, quantum, pool, scheduler)
    segments.append(("manifest", Segment(blob_pa, blob, len(blob), "r")))

    for t in placements:  # a tenant's whole RAM, not only its image, must miss the others
        for owner, seg in segments:
            if not owner.startswith("tenant") and seg.addr < t.pa + t.size and t.pa < seg.end:
                raise EmuError(f"{name}: tenant {t.name!r} RAM {t.pa:#x}-{t.pa + t.size - 1:#x} overlaps "
                               f"{owner} {seg.addr:#x}-{seg.end - 1:#x}")
    ordered = sorted(segments, key=lambda item: item[1].addr)
    for (wa, a), (wb, b) in zip(ordered, ordered[1:]):
        if b.addr < a.end:
            raise EmuError(f"{name}: {wa} {a.addr:#x}-{a.end - 1:#x} overlaps {wb} {b.addr:#x}-{b.end - 1:#x}")
    return SystemImage(name=name, entry=hyp.entry, segments=[s for _, s in segments], symbols=symbols,
                       tenants=placements, symbol_types=types)


def pack_manifest(manifest: Manifest, images: Mapping[str, Image],
                  constants: Mapping[str, int] | None = None, name: str | None = None) -> SystemImage:
    """The system image a manifest describes, from its already assembled ``images`` by name."""
    return pack_system(images[manifest.hypervisor],
                       [(t.name, t.load_file() if t.file else images[t.image], t.memory, t.pa, t.irqs, t.cores,
                         t.toe, t.manager, t.console_input, t.start)
                        for t in manifest.tenants],
                       constants, name=name or manifest.path.stem, quantum=manifest.quantum_ticks,
                       pool=manifest.pool, scheduler=manifest.scheduler)
