"""The device tree a board hands to U-Boot or Linux, generated from the board data.

What QEMU's ``-M virt,gic-version=2 -cpu cortex-a53`` builds in hw/arm/virt.c (compare with
``qemu-system-aarch64 -M virt,gic-version=2,dumpdtb=q.dtb ...`` and ``dtc -I dtb -O dts``),
written with libfdt's sequential writer (``libfdt.FdtSw``, the pylibfdt package):

- the root: ``compatible``/``model`` "linux,dummy-virt", #address-cells = #size-cells = 2,
  interrupt-parent = the GIC;
- ``/memory@...``: the RAM the machine has (``--ram`` included);
- ``/cpus``: one ``cpu@N`` per core ("arm,cortex-a53", ``enable-method = "psci"``);
- ``/psci``: PSCI 1.0 with QEMU's 0.1 function IDs; the conduit is "smc" when the core boots
  at EL2 (virtualization=on) and "hvc" when it boots at EL1, as ``Machine`` services it;
- ``/timer``: "arm,armv8-timer" with the secure, non-secure, virtual and hypervisor PPIs
  (29, 30, 27, 26), level high, the CPU mask of every core (GICv2 binding);
- ``/intc@...``: "arm,cortex-a15-gic" with GICD and GICC, and GICH, GICV and the maintenance
  PPI 25 only when the guest owns EL2 (QEMU lists them only with virtualization=on);
- one node per board device, by its model (``DEVICE_NODES``); PrimeCells get QEMU's 24 MHz
  ``/apb-pclk`` fixed clock. A model with no entry there gets no node (the guest cannot
  discover it) and is listed in :attr:`DeviceTree.skipped`;
- ``/chosen``: stdout-path (the first PL011), bootargs (``--append``) and
  linux,initrd-start/end (``--initrd``).

- ``/flash@...``: a CFI flash memory region (``model = "pflash-cfi01"``), one ``reg`` entry per
  bank, ``bank-width`` 4, as QEMU's virt_flash_fdt;

Not generated, deliberately: ``/pmu`` (no PMU
model), ``/platform-bus`` (no dynamic sysbus devices), ``gpio-keys`` (no GPIO pin is wired),
and ``rng-seed``/``kaslr-seed`` (they would make runs differ).

:func:`patch_fdt` applies what QEMU's arm_load_dtb (hw/arm/boot.c) writes into every tree it
loads, the user's ``-dtb`` included: the memory node, and /chosen's bootargs and initrd.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Callable

import libfdt

from ..errors import EmuError
from . import SPI_FIRST, Board, DeviceSpec

FDT_MAGIC = 0xD00DFEED
FDT_MAX_SIZE = 2 << 20           # the most a tree may take in guest memory (QEMU's virt: 1 MiB)

# Phandles as QEMU's virt numbers them (from 0x8000), so that the two dumps compare line by line.
PHANDLE_CLOCK = 0x8000
PHANDLE_GIC = 0x8002
PHANDLE_V2M = 0x8003
PHANDLE_GPIO = 0x8004

APB_PCLK_HZ = 24_000_000          # QEMU virt's "clk24mhz", the PrimeCells' apb_pclk

# The GIC binding's interrupt specifier (Documentation/devicetree/bindings/interrupt-controller/
# arm,gic.yaml): <type number flags>, type 0 = SPI (number = INTID - 32), 1 = PPI (INTID - 16).
GIC_FDT_IRQ_TYPE_SPI = 0
GIC_FDT_IRQ_TYPE_PPI = 1
GIC_FDT_IRQ_FLAGS_EDGE_LO_HI = 1
GIC_FDT_IRQ_FLAGS_LEVEL_HI = 4
GIC_FDT_IRQ_PPI_CPU_SHIFT = 8     # GICv2 PPIs: bits [15:8] are the mask of CPUs they reach
PPI_FIRST = 16

# The generic timer's PPIs in the order the arm,armv8-timer binding lists them.
TIMER_PPIS = (29, 30, 27, 26)     # secure phys, non-secure phys, virt, hyp phys
INTID_GIC_MAINTENANCE = 25

# PSCI function IDs QEMU's virt lists for the PSCI 0.1 binding (target/arm/kvm-consts.h);
# PSCI 0.2+ callers use the standard IDs and ignore these.
PSCI_0_1_IDS = {"cpu_suspend": 0xC4000001, "cpu_off": 0x84000002, "cpu_on": 0xC4000003,
                "migrate": 0xC4000005}

VIRTIO_MMIO_TRANSPORT = 0x200     # QEMU virt: one virtio-mmio transport every 0x200 bytes


@dataclass(frozen=True)
class Initrd:
    start: int
    end: int   # exclusive, as linux,initrd-end


@dataclass
class DeviceTree:
    """A flattened device tree and what it left out."""

    blob: bytes
    skipped: list[str] = field(default_factory=list)   # board devices with no node, by name


def _cells(*values: int) -> bytes:
    return struct.pack(f">{len(values)}I", *values)


def _reg(*pairs: tuple[int, int]) -> bytes:
    """A ``reg`` with #address-cells = #size-cells = 2."""
    return b"".join(struct.pack(">QQ", base, size) for base, size in pairs)


def _strings(*names: str) -> bytes:
    return b"".join(n.encode() + b"\0" for n in names)


def _spi(intid: int, flags: int = GIC_FDT_IRQ_FLAGS_LEVEL_HI) -> tuple[int, int, int]:
    return (GIC_FDT_IRQ_TYPE_SPI, intid - SPI_FIRST, flags)


class _Writer:
    """libfdt's sequential writer with the property kinds a tree here uses."""

    def __init__(self) -> None:
        self.sw = libfdt.FdtSw()
        self.sw.finish_reservemap()

    def node(self, name: str):
        return self.sw.add_node(name)

    def prop(self, name: str, value: bytes = b"") -> None:
        self.sw.property(name, value)

    def string(self, name: str, value: str) -> None:
        self.sw.property_string(name, value)

    def strings(self, name: str, *values: str) -> None:
        self.sw.property(name, _strings(*values))

    def u32(self, name: str, *values: int) -> None:
        self.sw.property(name, _cells(*values))

    def u64(self, name: str, value: int) -> None:
        self.sw.property_u64(name, value)

    def reg(self, *pairs: tuple[int, int]) -> None:
        self.sw.property("reg", _reg(*pairs))

    def interrupts(self, *specs: tuple[int, int, int]) -> None:
        self.u32("interrupts", *(c for spec in specs for c in spec))

    def finish(self) -> bytes:
        fdt = self.sw.as_fdt()
        fdt.pack()
        return bytes(fdt.as_bytearray())


# -- device nodes, by model ---------------------------------------------------------------------

def _primecell(w: _Writer, spec: DeviceSpec, compatible: str, clock_names: tuple[str, ...]) -> None:
    w.strings("compatible", compatible, "arm,primecell")
    w.reg((spec.base, spec.size))
    if spec.irq is not None:
        w.interrupts(_spi(spec.irq))
    w.u32("clocks", *([PHANDLE_CLOCK] * len(clock_names)))
    w.strings("clock-names", *clock_names)


def _pl011(w: _Writer, spec: DeviceSpec) -> None:
    with w.node(f"pl011@{spec.base:x}"):
        _primecell(w, spec, "arm,pl011", ("uartclk", "apb_pclk"))


def _pl031(w: _Writer, spec: DeviceSpec) -> None:
    with w.node(f"pl031@{spec.base:x}"):
        _primecell(w, spec, "arm,pl031", ("apb_pclk",))


def _pl061(w: _Writer, spec: DeviceSpec) -> None:
    with w.node(f"pl061@{spec.base:x}"):
        _primecell(w, spec, "arm,pl061", ("apb_pclk",))
        w.u32("#gpio-cells", 2)
        w.prop("gpio-controller")
        w.u32("phandle", PHANDLE_GPIO)


def _virtio_mmio(w: _Writer, spec: DeviceSpec) -> None:
    """QEMU's virt has 32 transports of 0x200 bytes on consecutive SPIs; a board window holds
    as many as fit, the first on the device's irq."""
    for i in range(spec.size // VIRTIO_MMIO_TRANSPORT):
        base = spec.base + i * VIRTIO_MMIO_TRANSPORT
        with w.node(f"virtio_mmio@{base:x}"):
            w.string("compatible", "virtio,mmio")
            w.reg((base, VIRTIO_MMIO_TRANSPORT))
            if spec.irq is not None:
                w.interrupts(_spi(spec.irq + i, GIC_FDT_IRQ_FLAGS_EDGE_LO_HI))
            w.prop("dma-coherent")


def _fw_cfg(w: _Writer, spec: DeviceSpec) -> None:
    with w.node(f"fw-cfg@{spec.base:x}"):
        w.string("compatible", "qemu,fw-cfg-mmio")
        w.reg((spec.base, 0x18))
        w.prop("dma-coherent")


def _pflash(w: _Writer, region) -> None:
    """QEMU virt's two CFI banks as one node (hw/arm/virt.c virt_flash_fdt)."""
    with w.node(f"flash@{region.base:x}"):
        w.string("compatible", "cfi-flash")
        w.reg(*((region.base + n * region.bank_size, region.bank_size) for n in range(region.banks)))
        w.u32("bank-width", 4)


def _pcie_ecam(w: _Writer, spec: DeviceSpec, has_v2m: bool) -> None:
    """A generic ECAM host bridge with QEMU virt's windows (hw/arm/virt.c create_pcie): PIO at
    0x3eff_0000, 32-bit MMIO 0x1000_0000-0x3efe_ffff, 64-bit MMIO 0x80_0000_0000 (512 GiB),
    INTx swizzled over four SPIs from the device's irq."""
    buses = spec.size >> 20
    with w.node(f"pcie@{spec.base:x}"):
        w.string("compatible", "pci-host-ecam-generic")
        w.string("device_type", "pci")
        w.u32("#address-cells", 3)
        w.u32("#size-cells", 2)
        w.u32("linux,pci-domain", 0)
        w.u32("bus-range", 0, buses - 1)
        w.prop("dma-coherent")
        w.reg((spec.base, spec.size))
        w.u32("ranges", 0x01000000, 0, 0, 0, 0x3EFF0000, 0, 0x10000,
              0x02000000, 0, 0x10000000, 0, 0x10000000, 0, 0x2EFF0000,
              0x03000000, 0x80, 0, 0x80, 0, 0x80, 0)
        if has_v2m:
            w.u32("msi-map", 0, PHANDLE_V2M, 0, 0x10000)
        if spec.irq is not None:
            imap = []
            for slot in range(4):
                for pin in range(4):
                    irq = spec.irq + (pin + slot) % 4
                    imap += [slot << 11, 0, 0, pin + 1, PHANDLE_GIC, 0, 0, *_spi(irq)]
            w.u32("#interrupt-cells", 1)
            w.u32("interrupt-map", *imap)
            w.u32("interrupt-map-mask", 0x1800, 0, 0, 7)


# Device models a tree describes, keyed by the board's model name (emu/board DEVICE_MODELS);
# ``-`` and ``_`` are the same here. The GICv2m frame and the ECAM bridge are written apart:
# the frame is a child of the GIC node and the bridge points at it.
DEVICE_NODES: dict[str, Callable[[_Writer, DeviceSpec], None]] = {
    "pl011": _pl011,
    "pl031": _pl031,
    "pl061": _pl061,
    "virtio_mmio": _virtio_mmio,
    "fw_cfg": _fw_cfg,
}
GICV2M_MODELS = ("gicv2m", "gic_v2m", "v2m")
PCIE_MODELS = ("pcie_ecam", "ecam", "gpex", "pcie")


def _model(spec: DeviceSpec) -> str:
    return spec.model.replace("-", "_")


# -- the tree -----------------------------------------------------------------------------------

def build_fdt(board: Board, *, start_el: int = 2, bootargs: str | None = None,
              initrd: Initrd | None = None) -> DeviceTree:
    """The device tree of ``board`` for a core booting at ``start_el``; see the module docstring."""
    if start_el not in (1, 2):
        raise EmuError(f"cannot describe a core booting at EL{start_el} (1 or 2)")
    gic = board.interrupt_controller
    ram = board.ram
    devices = sorted(board.devices, key=lambda d: d.base)
    v2m = [d for d in devices if _model(d) in GICV2M_MODELS]
    skipped = [d.name for d in devices
               if _model(d) not in DEVICE_NODES and _model(d) not in GICV2M_MODELS + PCIE_MODELS]
    uarts = [d for d in devices if d.model == "pl011"]
    ppi_flags = (((1 << board.cores) - 1) << GIC_FDT_IRQ_PPI_CPU_SHIFT) | GIC_FDT_IRQ_FLAGS_LEVEL_HI

    w = _Writer()
    with w.node(""):
        w.string("compatible", "linux,dummy-virt")
        w.string("model", "linux,dummy-virt")
        w.u32("#address-cells", 2)
        w.u32("#size-cells", 2)
        if gic is not None:
            w.u32("interrupt-parent", PHANDLE_GIC)

        for region in board.memory.values():
            if region.model == "pflash-cfi01":
                _pflash(w, region)

        with w.node("chosen"):
            if uarts:
                w.string("stdout-path", f"/pl011@{uarts[0].base:x}")
            if bootargs is not None:
                w.string("bootargs", bootargs)
            if initrd is not None:
                w.u64("linux,initrd-start", initrd.start)
                w.u64("linux,initrd-end", initrd.end)

        with w.node(f"memory@{ram.base:x}"):
            w.string("device_type", "memory")
            w.reg((ram.base, ram.size))

        with w.node("apb-pclk"):
            w.string("compatible", "fixed-clock")
            w.u32("#clock-cells", 0)
            w.u32("clock-frequency", APB_PCLK_HZ)
            w.string("clock-output-names", "clk24mhz")
            w.u32("phandle", PHANDLE_CLOCK)

        with w.node("cpus"):
            w.u32("#address-cells", 1)
            w.u32("#size-cells", 0)
            for n in range(board.cores):
                with w.node(f"cpu@{n:x}"):
                    w.string("device_type", "cpu")
                    w.string("compatible", f"arm,{board.cpu}")
                    w.u32("reg", n)
                    w.string("enable-method", "psci")

        with w.node("psci"):
            w.strings("compatible", "arm,psci-1.0", "arm,psci-0.2", "arm,psci")
            w.string("method", "smc" if start_el == 2 else "hvc")
            for name, fid in PSCI_0_1_IDS.items():
                w.u32(name, fid)

        with w.node("timer"):
            w.strings("compatible", "arm,armv8-timer", "arm,armv7-timer")
            w.prop("always-on")
            w.interrupts(*((GIC_FDT_IRQ_TYPE_PPI, intid - PPI_FIRST, ppi_flags) for intid in TIMER_PPIS))

        if gic is not None:
            _gic(w, board, start_el, v2m)

        for spec in devices:
            model = _model(spec)
            if model in PCIE_MODELS:
                _pcie_ecam(w, spec, has_v2m=bool(v2m))
            elif model in DEVICE_NODES:
                DEVICE_NODES[model](w, spec)
    blob = w.finish()
    if len(blob) > FDT_MAX_SIZE:
        raise EmuError(f"board {board.name}: its device tree takes {len(blob):#x} bytes, "
                       f"more than {FDT_MAX_SIZE:#x}")
    return DeviceTree(blob, skipped)


def _gic(w: _Writer, board: Board, start_el: int, v2m: list[DeviceSpec]) -> None:
    """The GICv2 (arm,gic.yaml): GICD, GICC, and with the virtualization extensions visible
    to the guest (booting at EL2) GICH, GICV and the maintenance interrupt."""
    from . import GIC_FRAMES

    gic = board.interrupt_controller
    sizes = GIC_FRAMES[gic.model]
    frames = ("gicd", "gicc", "gich", "gicv") if start_el == 2 else ("gicd", "gicc")
    frames = tuple(f for f in frames if f in gic.frames)
    with w.node(f"intc@{gic.frames['gicd']:x}"):
        w.string("compatible", "arm,cortex-a15-gic")
        w.u32("#interrupt-cells", 3)
        w.prop("interrupt-controller")
        w.u32("#address-cells", 2)
        w.u32("#size-cells", 2)
        w.prop("ranges")
        w.reg(*((gic.frames[f], sizes[f]) for f in frames))
        if "gich" in frames:
            w.interrupts((GIC_FDT_IRQ_TYPE_PPI, INTID_GIC_MAINTENANCE - PPI_FIRST, GIC_FDT_IRQ_FLAGS_LEVEL_HI))
        w.u32("phandle", PHANDLE_GIC)
        for i, spec in enumerate(v2m):
            with w.node(f"v2m@{spec.base:x}"):
                w.string("compatible", "arm,gic-v2m-frame")
                w.prop("msi-controller")
                w.reg((spec.base, spec.size))
                if i == 0:
                    w.u32("phandle", PHANDLE_V2M)


# -- patching a tree (QEMU's arm_load_dtb) ------------------------------------------------------

def check_fdt(blob: bytes, what: str) -> libfdt.Fdt:
    """``blob`` as a libfdt tree, or one EmuError line naming ``what``."""
    if len(blob) < 40 or struct.unpack_from(">I", blob)[0] != FDT_MAGIC:
        raise EmuError(f"{what}: not a device tree blob (no FDT magic d00dfeed)")
    try:
        fdt = libfdt.Fdt(bytearray(blob))
        fdt.path_offset("/")
    except libfdt.FdtException as err:
        raise EmuError(f"{what}: corrupt device tree: {err}") from None
    if fdt.totalsize() > len(blob):
        raise EmuError(f"{what}: truncated device tree ({len(blob):#x} of {fdt.totalsize():#x} bytes)")
    return fdt


def patch_fdt(blob: bytes, what: str, *, ram: tuple[int, int] | None = None, bootargs: str | None = None,
              initrd: Initrd | None = None) -> bytes:
    """``blob`` with the memory node set to ``ram`` (base, size) and /chosen's bootargs and
    linux,initrd-start/end set, as QEMU's arm_load_dtb does to every tree it loads (the
    addresses in the root's #address-cells). One EmuError line for a tree it cannot edit."""
    fdt = check_fdt(blob, what)
    fdt.resize(fdt.totalsize() + 4096 + (len(bootargs.encode()) if bootargs else 0))
    try:
        acells = _root_cells(fdt, "#address-cells", what)
        scells = _root_cells(fdt, "#size-cells", what)
        if ram is not None:
            node = fdt.path_offset("/memory", (libfdt.NOTFOUND,))
            if node < 0:
                node = fdt.add_subnode(0, "memory")
                fdt.setprop_str(node, "device_type", "memory")
            fdt.setprop(node, "reg", _sized(ram[0], acells, what) + _sized(ram[1], scells, what))
        if bootargs is not None or initrd is not None:
            chosen = fdt.path_offset("/chosen", (libfdt.NOTFOUND,))
            if chosen < 0:
                chosen = fdt.add_subnode(0, "chosen")
            if bootargs is not None:
                fdt.setprop_str(chosen, "bootargs", bootargs)
            if initrd is not None:
                fdt.setprop(chosen, "linux,initrd-start", _sized(initrd.start, acells, what))
                fdt.setprop(chosen, "linux,initrd-end", _sized(initrd.end, acells, what))
        fdt.pack()
    except libfdt.FdtException as err:
        raise EmuError(f"{what}: cannot edit the device tree: {err}") from None
    return bytes(fdt.as_bytearray())


def _root_cells(fdt: libfdt.Fdt, name: str, what: str) -> int:
    prop = fdt.getprop(0, name, (libfdt.NOTFOUND,))
    if isinstance(prop, int):
        raise EmuError(f"{what}: the root node has no {name}")
    value = prop.as_uint32() if len(prop) == 4 else 0
    if value not in (1, 2):
        raise EmuError(f"{what}: the root's {name} is {bytes(prop).hex()}; 1 or 2 cells expected")
    return value


def _sized(value: int, cells: int, what: str) -> bytes:
    if value >> (32 * cells):
        raise EmuError(f"{what}: {value:#x} does not fit in {cells} cell(s)")
    return value.to_bytes(4 * cells, "big")
