"""The board builder: the one place where a board description becomes wiring.

It maps the board's memory regions into the core's address space (RAM as host memory that
cores can share, ROM devices as banks, emu/mem/rombank.py), creates the interrupt controller
and the device models the board file names, connects each device's interrupt output to its
GIC input, and the timer PPIs to the core. Device models get their spec, their IRQ output and
the machine's services (console, clock, log); they never wire themselves.
"""

from __future__ import annotations

import mmap
from typing import TYPE_CHECKING, Callable

from unicorn import UC_PROT_ALL, UC_PROT_EXEC, UC_PROT_READ, UC_PROT_WRITE

from ..cpu.clock import COUNTER_HZ
from ..cpu.psci import MASK64
from ..devices.irq import IrqLine
from ..errors import EmuError
from ..mem.rombank import RomBank, buffer_address

if TYPE_CHECKING:
    from ..machine import Machine


def _make_pl011(spec, irq: IrqLine, machine: "Machine"):
    from ..devices.pl011 import Pl011

    return Pl011(irq=irq, tx=machine.console.write, log=machine.device_log, name=spec.name)


def _make_pl031(spec, irq: IrqLine, machine: "Machine"):
    import time

    from ..devices.pl031 import DETERMINISTIC_START, Pl031

    # Deterministic time reads the same dates every run; realtime reads the host's UTC clock.
    start = DETERMINISTIC_START if machine.clock.mode == "deterministic" else int(time.time())
    return Pl031(irq=irq, clock=machine.clock, hz=COUNTER_HZ, start=start, log=machine.device_log,
                 name=spec.name)


def _make_pl061(spec, irq: IrqLine, machine: "Machine"):
    from ..devices.pl061 import Pl061

    return Pl061(irq=irq, log=machine.device_log, name=spec.name)


def _make_virtio_mmio(spec, irq: IrqLine, machine: "Machine"):
    from ..devices.virtio_mmio import VirtioMmioBank

    return VirtioMmioBank(log=machine.device_log, name=spec.name)


def _make_gicv2m(spec, irq: IrqLine, machine: "Machine"):
    from ..devices.gicv2m import VIRT_BASE_SPI, VIRT_NUM_SPIS, Gicv2m

    # The frame drives SPIs of its own (QEMU virt's), wired here rather than through spec.irq.
    spis = [IrqLine(None, f"{spec.name}.spi{VIRT_BASE_SPI + n}") for n in range(VIRT_NUM_SPIS)]
    for n, line in enumerate(spis):
        machine.builder.connect_irq(VIRT_BASE_SPI + n, line)
    return Gicv2m(spis, VIRT_BASE_SPI, log=machine.device_log, name=spec.name)


def _make_gpex(spec, irq: IrqLine, machine: "Machine"):
    from ..devices.gpex import GpexEcam

    return GpexEcam(log=machine.device_log, name=spec.name)


def _make_fw_cfg(spec, irq: IrqLine, machine: "Machine"):
    from ..devices.fw_cfg import FwCfgMmio, virt_files, virt_items

    from ..mem.dma import PhysicalPort

    return FwCfgMmio(PhysicalPort(machine), virt_items(machine.board.cores), virt_files(),
                     log=machine.device_log, name=spec.name)


def _make_smmuv3(spec, irq: IrqLine, machine: "Machine"):
    from ..devices.smmuv3 import Smmuv3
    from ..mem.dma import PhysicalPort

    # Its four SPIs in QEMU virt's order (emu/board DEVICE_IRQ_COUNT): the event queue (``irq``,
    # wired by the builder), the PRI queue (not modelled), CMD_SYNC and the global error.
    def line(n: int) -> IrqLine:
        out = IrqLine(None, f"{spec.name}.spi{spec.irq + n}")
        machine.irq_lines[spec.irq + n] = out
        machine.builder.connect_irq(spec.irq + n, out)
        return out

    return Smmuv3(PhysicalPort(machine), eventq=irq, cmd_sync=line(2), gerror=line(3),
                  log=machine.device_log, name=spec.name)


def _make_toe(spec, irq: IrqLine, machine: "Machine"):
    from ..devices.toe import SESSIONS, Toe
    from ..mem.dma import PhysicalPort

    # One SPI per session from ``irq`` (emu/board DEVICE_IRQ_COUNT). A session's data moves
    # through its stream of the SMMU when the board has one, straight to memory otherwise.
    # and the management line after them (emu/board DEVICE_IRQ_COUNT).
    lines = [irq]
    for n in range(1, SESSIONS + 1):
        line = IrqLine(None, f"{spec.name}.spi{spec.irq + n}")
        machine.irq_lines[spec.irq + n] = line
        machine.builder.connect_irq(spec.irq + n, line)
        lines.append(line)
    mgmt = lines.pop()
    smmu = next((d for d in machine.devices.values() if type(d).__name__ == "Smmuv3"), None)
    physical = PhysicalPort(machine)
    dma = smmu.stream if smmu is not None else (lambda sid: physical)
    return Toe(lines, machine.clock, dma, machine.network, machine.network_record,
               log=machine.device_log, name=spec.name, mgmt_irq=mgmt)


# Device models by the name a board file uses. Each factory gets its spec, its IRQ output and
# the machine's services (console, clock, log); wiring stays here, not in the devices.
DEVICE_MODELS: dict[str, Callable] = {
    "pl011": _make_pl011,
    "pl031": _make_pl031,
    "pl061": _make_pl061,
    "virtio-mmio": _make_virtio_mmio,
    "gicv2m": _make_gicv2m,
    "gpex": _make_gpex,
    "fw-cfg": _make_fw_cfg,
    "smmuv3": _make_smmuv3,
    "toe": _make_toe,
}


def _make_pflash_cfi01(bank: RomBank, name: str, machine: "Machine"):
    from ..devices.pflash_cfi01 import PflashCfi01

    return PflashCfi01(bank.backing, log=machine.device_log, name=name)


#: ROM device models by the name a memory region's ``model`` uses (emu/board MEMORY_MODELS).
MEMORY_MODELS: dict[str, Callable] = {
    "pflash-cfi01": _make_pflash_cfi01,
}


class BoardBuilder:
    def __init__(self, machine: "Machine"):
        self.m = machine

    def map_region(self, region) -> None:
        m = self.m
        perms = 0
        perms |= UC_PROT_READ if "r" in region.access else 0
        perms |= UC_PROT_WRITE if "w" in region.access else 0
        perms |= UC_PROT_EXEC if "x" in region.access else 0
        if region.model is not None:
            for n in range(region.banks):
                bank = RomBank([(c.uc, c.mmio) for c in m.cores], region.base + n * region.bank_size,
                               region.bank_size, perms & ~UC_PROT_WRITE, m._rom_bank_changed)
                bank.device = MEMORY_MODELS[region.model](bank, f"{region.name}{n}", m)
                m.rom_banks.append(bank)
        else:
            # Host memory we own, so that every core's Unicorn maps the same bytes and snapshots
            # can read RAM directly.
            backing = mmap.mmap(-1, region.size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            if region.name == "ram":
                m._ram_backing.append(backing)
            else:
                m._other_backing.append(backing)
            ptr = buffer_address(backing)
            for core in m.cores:
                core.uc.mem_map_ptr(region.base, region.size, (perms or UC_PROT_ALL) if region.name == "ram" else perms,
                                    ptr)

    def outside_ram(self) -> list[tuple[int, int]]:
        """Inclusive physical ranges that cover everything but the board's RAM."""
        m = self.m
        ram = m.board.memory.get("ram")
        if ram is None:
            return [(0, MASK64)]
        ranges = [(0, ram.base - 1)] if ram.base else []
        if ram.base + ram.size <= MASK64:
            ranges.append((ram.base + ram.size, MASK64))
        return ranges

    def attach_gic(self, spec) -> None:
        m = self.m
        if spec.model != "gicv2":
            raise EmuError(f"board '{m.board.name}': unknown interrupt controller '{spec.model}'")
        from ..devices.gicv2 import Gicv2

        # The CPU interface frames are banked: an access comes from the core that runs.
        gic = Gicv2(num_cpus=len(m.cores), num_spis=spec.num_spis, current_cpu=lambda: m.core.index,
                    log=m.device_log)
        for frame, base in spec.frames.items():
            dev = getattr(gic, frame)
            for core in m.cores:
                core.mmio.map(base, dev.SIZE, dev)
        for core in m.cores:
            out, cpu = gic.outputs[core.index], core.cpu
            for line, sink in ((out.irq, cpu.set_irq), (out.fiq, cpu.set_fiq),
                               (out.virq, cpu.set_virq), (out.vfiq, cpu.set_vfiq)):
                line.connect(sink)
                sink(line.level)
        m.gic = gic

    def connect_irq(self, intid: int, line: IrqLine, cpu: int | None = None) -> None:
        """Wire a device's output to the GIC input ``intid`` (a PPI of ``cpu``, or an SPI)."""
        m = self.m
        if m.gic is None:
            return  # no interrupt controller: the line keeps its level for whoever looks
        target = m.gic.input_line(intid, cpu)
        line.connect(target.set)
        target.set(line.level)

    def attach_device(self, spec) -> None:
        m = self.m
        factory = DEVICE_MODELS.get(spec.model)
        if factory is None:
            raise EmuError(f"board '{m.board.name}': unknown device model '{spec.model}'")
        line = IrqLine(None, f"{spec.name}.irq")
        if spec.irq is not None:
            m.irq_lines[spec.irq] = line
            self.connect_irq(spec.irq, line)
        dev = factory(spec, line, m)
        m.devices[spec.name] = dev
        if hasattr(dev, "next_deadline"):
            m.timed_devices.append(dev)  # a device that keeps time (an RTC alarm) wakes the run loop too
        for core in m.cores:
            core.mmio.map(spec.base, spec.size, dev)
