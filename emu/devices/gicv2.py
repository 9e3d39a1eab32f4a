"""Arm Generic Interrupt Controller, GICv2 with the virtualization extensions (a GIC-400), per
the ARM Generic Interrupt Controller Architecture Specification, GIC architecture version 2.0,
Arm IHI 0048B.b. Sections cited as "spec 4.3.5" refer to that document.

Interface
    MMIO      four frames, each an MmioDevice with SIZE and read/write, mapped by the board:
                gicd  Distributor, 4 KiB (QEMU virt: 0x08000000)
                gicc  CPU interface, 8 KiB, GICC_DIR at 0x1000 (0x08010000)
                gich  virtual interface control, 4 KiB (0x08030000)
                gicv  virtual CPU interface, 8 KiB, same layout as gicc (0x08040000)
              32-bit accesses everywhere; GICD_IPRIORITYR, GICD_ITARGETSR, GICD_CPENDSGIR and
              GICD_SPENDSGIR also take byte accesses (spec 4.1.4). Anything else is a guest error.
    Banking   MMIO callbacks carry no CPU number: ``current_cpu()`` (given to the constructor)
              names the CPU making each access. SGI/PPI state, every GICC register and every
              GICH register are banked per CPU; GICV is the current CPU's view of its GICH.
    IRQ out   ``outputs[cpu]`` has four IrqLines, recomputed together in ``_update()``:
                irq, fiq    physical: the highest-priority pending interrupt that may preempt;
                            Group 0 goes to ``fiq`` when GICC_CTLR.FIQEn is set, every other
                            signalled interrupt to ``irq`` (spec 3.6)
                virq, vfiq  the same rule over the list registers, with GICV_CTLR (GICH_VMCR)
                            and GICH_HCR.En
    IRQ in    ``set_irq(intid, level, cpu=None)`` drives a PPI (16-31, of ``cpu``) or an SPI
              (32 and up); ``input_line(intid, cpu=None)`` returns an IrqLine a device can
              drive instead. Level-sensitive interrupts are pending while the input is high
              (or while latched by GICD_ISPENDR); edge-triggered ones latch on a rising edge
              (spec 1.4.2, 4.3.13). The maintenance interrupt, PPI 25 of each CPU, is driven
              internally: asserted while GICH_HCR.En and GICH_MISR != 0 (spec 5.3.4).
    Options   ``num_cpus`` 1-8, ``num_spis`` a multiple of 32 (default 256: INTIDs 0-287 and
              GICD_TYPER.ITLinesNumber = 8, as QEMU virt).
    Snapshot  ``state()`` / ``from_state()``: plain JSON-able data.

Identification and sizes follow QEMU 7.2's GICv2 on ``-M virt,gic-version=2`` (read back
with the guest/probes/gic_*.s probes), because QEMU is our differential reference:
GICD_IIDR = 0x0000043b, GICC_IIDR = GICV_IIDR = 0x0002043b, GIC-400 peripheral ID registers,
8 priority bits on the physical side (GICC_BPR minimum 0, GICC_ABPR minimum 1, four GICC_APRn
and four GICC_NSAPRn, one bit per group priority >> 1), and on the virtual side GICH_VTR =
0x90000003: 4 list registers, 5 priority and 5 preemption bits (GICV_BPR minimum 2,
GICV_ABPR minimum 3, one GICH_APR, bit = group priority >> 3).

Security and groups: the board has no EL3 and QEMU's virt GIC has no Security Extensions
(GICD_TYPER.SecurityExtn = 0), so every access has the one (Secure-style) view that QEMU
shows: GICD_IGROUPRn are read/write (reset: everything Group 0), GICD_CTLR has EnableGrp0 and
EnableGrp1, GICC_CTLR has EnableGrp0, EnableGrp1, AckCtl, FIQEn, CBPR and EOImode (bit 9).
Group 1 interrupts use GICC_ABPR unless CBPR, are acknowledged only with AckCtl (otherwise
GICC_IAR and GICC_HPPIR return 1022) and record their active priority in GICC_NSAPRn; Group 0
ones use GICC_BPR and GICC_APRn. The list registers' Grp1 bit and GICH_VMCR's group fields
work the same way on the virtual side.

Deliberate simplifications, each matching QEMU unless noted:

- GICD_ISENABLER0 bits 0-15 (SGIs) are RAO/WI; GICD_ISPENDR0/ICPENDR0 bits 0-15 are WI
  (SGIs are made pending only by GICD_SGIR and GICD_SPENDSGIRn, which keep one pending bit per
  source CPU); GICD_ICFGR0 reads 0xaaaaaaaa (edge) and is WI; only Int_config[1] of each
  GICD_ICFGRn field is stored (bit 0 is reserved in GICv2). PPIs are configurable.
- With one CPU, GICD_ITARGETSRn are RAZ/WI and every SPI goes to CPU 0 (spec 4.3.12).
- SGI active state is kept per (target CPU, INTID), not per source.
- The CPU interface's "highest priority pending interrupt" is chosen among interrupts that
  are pending, not active, enabled, targeted at the CPU and of a group enabled in GICD_CTLR;
  GICC_HPPIR and GICC_IAR return 1023 unless its priority is below GICC_PMR (and, for
  GICC_IAR, its group priority below the running priority, spec 3.3); the per-group enables
  of GICC_CTLR gate only the IRQ/FIQ signal, and the interface counts as disabled (1023) only
  when neither group is enabled in it.
- A Group 1 candidate with AckCtl 0 reads as 1022 before the running priority is checked.
- A GICC_EOIR write drops the highest active priority of the named interrupt's group
  (GICC_APRn or GICC_NSAPRn; spec 3.3.3 expects it to be the last one acknowledged) and,
  with EOImode 0, deactivates it; with no active priority at all it is ignored. Writes to
  GICC_DIR while EOImode is 0 are ignored (a guest error; the spec calls them UNPREDICTABLE).
- GICV_EOIR drops the highest GICH_APR bit; with VMCR.VEM 0 it and GICV_DIR then deactivate
  the list register holding that VirtualID in the active state. If none does, GICH_HCR's
  EOICount counts up (modulo 32, spec 5.3.1), except for a GICV_EOIR that found no active
  priority to drop. With HW=1 the physical interrupt PhysicalID is deactivated too.
- GICH_VMCR writes clamp VMBP to at least 2 and VMABP to at least 3, as QEMU; GICV_BPR and
  GICV_ABPR writes clamp the same way (QEMU 7.2 stores GICV_ABPR unclamped: a divergence).
- Not modelled: the Security Extensions (Secure/Non-secure banking, NSATT in GICD_SGIR is
  ignored), GICC_AIAR/AEOIR/AHPPIR (RAZ/WI, logged as unimplemented, as QEMU reads 0), the
  GICH per-CPU alias frames, interrupt bypass and the IRQ/FIQ bypass disable bits, GICv2m
  MSI frames, power management, GIC-400's GICD_PPISR/SPISR status registers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .base import MmioDevice
from .irq import IrqLine
from .log import LogSink
from .regs import RO, W1C, W1S, WO, Field, Reg, RegisterFile, RegisterMap, flags

# --- Interrupt ID space (spec 2.2.1) -----------------------------------------------------
NUM_SGIS = 16
NUM_PRIVATE = 32                # SGIs 0-15 and PPIs 16-31, banked per CPU
MAX_CPUS = 8
INTID_MAINTENANCE = 25          # the virtual interface's maintenance interrupt (a PPI)
INTID_SPURIOUS = 1023           # no interrupt to acknowledge
INTID_GROUP1_PENDING = 1022     # the highest is Group 1 and GICC_CTLR.AckCtl is 0 (spec 4.4.4)

# --- GICD_CTLR (spec 4.3.1, without Security Extensions) --------------------------------
GICD_CTLR_ENABLE_GRP0 = 1 << 0
GICD_CTLR_ENABLE_GRP1 = 1 << 1

# --- GICC_CTLR / GICV_CTLR (spec 4.4.1, 5.6) ---------------------------------------------
GICC_CTLR_ENABLE_GRP0 = 1 << 0
GICC_CTLR_ENABLE_GRP1 = 1 << 1
GICC_CTLR_ACKCTL = 1 << 2
GICC_CTLR_FIQEN = 1 << 3
GICC_CTLR_CBPR = 1 << 4
GICC_CTLR_EOIMODE = 1 << 9
GICC_CTLR_MASK = 0x21F

GICC_IAR_CPUID_SHIFT = 10       # source CPU of an SGI, bits [12:10]
GIC_PRIORITY_IDLE = 0xFF        # GICC_RPR with nothing active

# --- GICH (spec 5.3) ---------------------------------------------------------------------
GICH_HCR_EN = 1 << 0
GICH_HCR_UIE = 1 << 1
GICH_HCR_LRENPIE = 1 << 2
GICH_HCR_NPIE = 1 << 3
GICH_HCR_VGRP0EIE = 1 << 4
GICH_HCR_VGRP0DIE = 1 << 5
GICH_HCR_VGRP1EIE = 1 << 6
GICH_HCR_VGRP1DIE = 1 << 7
GICH_HCR_EOICOUNT_SHIFT = 27
GICH_HCR_MASK = 0xF80000FF

GICH_MISR_EOI = 1 << 0
GICH_MISR_U = 1 << 1
GICH_MISR_LRENP = 1 << 2
GICH_MISR_NP = 1 << 3
GICH_MISR_VGRP0E = 1 << 4
GICH_MISR_VGRP0D = 1 << 5
GICH_MISR_VGRP1E = 1 << 6
GICH_MISR_VGRP1D = 1 << 7

NUM_LRS = 4
VIRT_PRIORITY_BITS = 5
# ListRegs-1 [5:0], PREbits-1 [28:26], PRIbits-1 [31:29] (spec 5.3.2); QEMU's value.
GICH_VTR_VALUE = (NUM_LRS - 1) | ((VIRT_PRIORITY_BITS - 1) << 26) | ((VIRT_PRIORITY_BITS - 1) << 29)

# GICH_VMCR (spec 5.3.3): the GICV_CTLR bits in [9:0], then the binary points and mask.
GICH_VMCR_CTLR_MASK = GICC_CTLR_MASK
GICH_VMCR_VMABP_SHIFT = 18
GICH_VMCR_VMBP_SHIFT = 21
GICH_VMCR_VMPRIMASK_SHIFT = 27
GICH_VMCR_MASK = 0xF8FC021F
VIRT_MIN_BPR = 2                # 5 preemption bits: group priority is at most [7:3]
VIRT_MIN_ABPR = VIRT_MIN_BPR + 1
GICH_VMCR_RESET = (VIRT_MIN_BPR << GICH_VMCR_VMBP_SHIFT) | (VIRT_MIN_ABPR << GICH_VMCR_VMABP_SHIFT)

# List register fields (spec 5.3.11).
GICH_LR_VIRTUALID = 0x3FF
GICH_LR_PHYSICALID_SHIFT = 10   # HW=1: PhysicalID [19:10]
GICH_LR_CPUID_SHIFT = 10        # HW=0: CPUID [12:10] of a virtual SGI
GICH_LR_EOI = 1 << 19           # HW=0: maintenance interrupt when deactivated
GICH_LR_PRIORITY_SHIFT = 23     # priority [7:3] in [27:23]
GICH_LR_STATE_SHIFT = 28
GICH_LR_STATE_PENDING = 1
GICH_LR_STATE_ACTIVE = 2
GICH_LR_GRP1 = 1 << 30
GICH_LR_HW = 1 << 31
GICH_LR_MASK = 0xFF8FFFFF       # [22:20] reserved

# Identification (QEMU 7.2's values; see the module docstring).
GICD_IIDR_VALUE = 0x0000043B
GICC_IIDR_VALUE = 0x0002043B
PHYS_MIN_BPR = 0                # 8 priority bits: Group 0 group priority [7:1] at best
PHYS_MIN_ABPR = PHYS_MIN_BPR + 1
_GICD_ID_REGS = (  # (name, offset, value): GIC-400 peripheral and component IDs
    ("PIDR4", 0xFD0, 0x04), ("PIDR5", 0xFD4, 0x00), ("PIDR6", 0xFD8, 0x00), ("PIDR7", 0xFDC, 0x00),
    ("PIDR0", 0xFE0, 0x90), ("PIDR1", 0xFE4, 0xB4), ("PIDR2", 0xFE8, 0x2B), ("PIDR3", 0xFEC, 0x00),
    ("CIDR0", 0xFF0, 0x0D), ("CIDR1", 0xFF4, 0xF0), ("CIDR2", 0xFF8, 0x05), ("CIDR3", 0xFFC, 0xB1),
)

_WORD = 0xFFFFFFFF
_PPI_BITS = 0xFFFF0000
_SGI_BITS = 0x0000FFFF


def _bits(mask: int):
    """The set bit positions of ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _lowest_bit(mask: int) -> int:
    return (mask & -mask).bit_length() - 1


def _spread_edge(edge16: int) -> int:
    """16 edge bits -> a GICD_ICFGRn word (Int_config[1] of each 2-bit field)."""
    return sum(1 << (2 * k + 1) for k in range(16) if edge16 >> k & 1)


def _gather_edge(word: int) -> int:
    return sum(1 << k for k in range(16) if word >> (2 * k + 1) & 1)


@dataclass(frozen=True)
class Pending:
    """The highest-priority pending interrupt a CPU interface sees."""

    intid: int
    priority: int
    group: int
    source: int = 0             # SGIs: the source CPU that GICC_IAR would report


@dataclass
class GicCpuOutputs:
    """The four interrupt outputs of one CPU interface."""

    irq: IrqLine
    fiq: IrqLine
    virq: IrqLine
    vfiq: IrqLine


class _GicFrame(MmioDevice):
    """A frame of the GIC. Every guest access first asks the machine which CPU makes it
    (``self.cpu``); banked frames also switch ``self.regs`` to that CPU's register file."""

    BANKED = False

    def __init__(self, gic: "Gicv2", log: LogSink | None, name: str):
        super().__init__(log=log, name=name)
        self.gic = gic
        self.cpu = 0
        if self.BANKED:
            self.banks = [RegisterFile(self.REGS) for _ in range(gic.num_cpus)]
            self.regs = self.banks[0]

    def _select(self) -> None:
        cpu = self.gic.current_cpu()
        if not 0 <= cpu < self.gic.num_cpus:
            raise ValueError(f"{self.name}: current_cpu() returned {cpu}, not a CPU of this GIC")
        self.cpu = cpu
        if self.BANKED:
            self.regs = self.banks[cpu]

    def read(self, offset: int, size: int) -> int:
        self._select()
        return super().read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        self._select()
        super().write(offset, size, value)

    def bank(self, cpu: int) -> RegisterFile:
        return self.banks[cpu]

    def reset(self) -> None:
        if self.BANKED:
            for b in self.banks:
                b.reset()
        else:
            super().reset()

    def state(self) -> dict[str, Any]:
        if self.BANKED:
            return {"banks": [b.state() for b in self.banks]}
        return super().state()

    def from_state(self, state: dict[str, Any]) -> None:
        if self.BANKED:
            banks = state.get("banks", [])
            for cpu, b in enumerate(self.banks):
                b.load_state(banks[cpu] if cpu < len(banks) else {})
        else:
            super().from_state(state)


# =========================================================================================
# Distributor
# =========================================================================================

class GicDistributor(_GicFrame):
    """GICD: the state of every interrupt and the registers that show it (spec 4.3).

    Per-interrupt state lives in bit masks (bit n = INTID n): for SGIs and PPIs one 32-bit
    mask per CPU, for SPIs one integer over the whole INTID space. The GICD_* arrays are
    views of that state through handlers; the register storage holds only GICD_CTLR.
    """

    SIZE = 0x1000

    REGS = RegisterMap(
        Reg("CTLR", 0x000, mask=GICD_CTLR_ENABLE_GRP0 | GICD_CTLR_ENABLE_GRP1,
            on_change="_changed", fields=flags("EnableGrp0", "EnableGrp1")),
        Reg("TYPER", 0x004, access=RO, on_read="_read_typer",
            fields=(Field("ITLinesNumber", 0, 5), Field("CPUNumber", 5, 3),
                    Field("SecurityExtn", 10), Field("LSPI", 11, 5))),
        Reg("IIDR", 0x008, access=RO, reset=GICD_IIDR_VALUE),
        Reg("IGROUPR", 0x080, count=32, on_read="_read_igroupr", on_write="_write_igroupr"),
        Reg("ISENABLER", 0x100, count=32, access=W1S,
            on_read="_read_enabled", on_write="_write_isenabler"),
        Reg("ICENABLER", 0x180, count=32, access=W1C,
            on_read="_read_enabled", on_write="_write_icenabler"),
        Reg("ISPENDR", 0x200, count=32, access=W1S,
            on_read="_read_pending", on_write="_write_ispendr"),
        Reg("ICPENDR", 0x280, count=32, access=W1C,
            on_read="_read_pending", on_write="_write_icpendr"),
        Reg("ISACTIVER", 0x300, count=32, access=W1S,
            on_read="_read_active", on_write="_write_isactiver"),
        Reg("ICACTIVER", 0x380, count=32, access=W1C,
            on_read="_read_active", on_write="_write_icactiver"),
        Reg("IPRIORITYR", 0x400, count=255, sizes=(1, 4),
            on_read="_read_ipriorityr", on_write="_write_ipriorityr"),
        Reg("ITARGETSR", 0x800, count=255, sizes=(1, 4),
            on_read="_read_itargetsr", on_write="_write_itargetsr"),
        Reg("ICFGR", 0xC00, count=64, on_read="_read_icfgr", on_write="_write_icfgr"),
        Reg("SGIR", 0xF00, access=WO, on_write="_write_sgir",
            fields=(Field("SGIINTID", 0, 4), Field("NSATT", 15), Field("CPUTargetList", 16, 8),
                    Field("TargetListFilter", 24, 2))),
        Reg("CPENDSGIR", 0xF10, count=4, access=W1C, sizes=(1, 4),
            on_read="_read_sgi_sources", on_write="_write_cpendsgir"),
        Reg("SPENDSGIR", 0xF20, count=4, access=W1S, sizes=(1, 4),
            on_read="_read_sgi_sources", on_write="_write_spendsgir"),
        *(Reg(name, off, access=RO, reset=value) for name, off, value in _GICD_ID_REGS),
    )

    # Registers whose value is a view of interrupt state and that accept narrow writes:
    # the base merges a byte write with the stored word, so refresh that first.
    _VIEWS_WITH_LANES = frozenset({"IPRIORITYR", "ITARGETSR"})

    def __init__(self, gic: "Gicv2", log: LogSink | None):
        super().__init__(gic, log, "gicd")
        self.num_irqs = NUM_PRIVATE + gic.num_spis
        self.words = self.num_irqs // 32
        self._cpu_mask = (1 << gic.num_cpus) - 1
        self._clear_state()

    def _clear_state(self) -> None:
        n = self.gic.num_cpus
        # SGIs and PPIs, per CPU (bit n = INTID n, n < 32).
        self.priv_enabled = [_SGI_BITS] * n     # SGIs are always enabled (RAO/WI)
        self.priv_group = [0] * n
        self.priv_active = [0] * n
        self.priv_latch = [0] * n               # PPI pending latches (edge, GICD_ISPENDR)
        self.priv_level = [0] * n               # PPI input levels
        self.priv_edge = [0] * n                # PPI Int_config[1]: 1 = edge-triggered
        self.priv_priority = [[0] * NUM_PRIVATE for _ in range(n)]
        self.sgi_sources = [[0] * NUM_SGIS for _ in range(n)]  # pending SGIs: source CPU mask
        self._sgi_pending = [0] * n             # cache: bit i set while sgi_sources[c][i]
        # SPIs, shared (bit n = INTID n, n >= 32).
        self.spi_enabled = 0
        self.spi_group = 0
        self.spi_active = 0
        self.spi_latch = 0
        self.spi_level = 0
        self.spi_edge = 0
        self.spi_priority = [0] * self.num_irqs  # entries below 32 unused
        self.spi_targets = [0] * self.num_irqs
        self._route = [0] * n                   # cache: SPIs whose target list names CPU c
        self._recompute_routes()

    # --- access hooks --------------------------------------------------------------------

    def write(self, offset: int, size: int, value: int) -> None:
        if size < 4:
            hit = self.REGS.decode(offset)
            if hit is not None and hit[0].name in self._VIEWS_WITH_LANES:
                self._select()
                reg, index, _ = hit
                self.regs.store(reg, index, getattr(self, reg.on_read)(index))
        super().write(offset, size, value)

    def _changed(self) -> None:
        self.gic._update()

    # --- state queries used by the CPU interfaces ----------------------------------------

    def _spi_pending(self) -> int:
        return self.spi_latch | (self.spi_level & ~self.spi_edge)

    def _priv_pending(self, cpu: int) -> int:
        return (self._sgi_pending[cpu] | self.priv_latch[cpu]
                | (self.priv_level[cpu] & ~self.priv_edge[cpu] & _PPI_BITS))

    def priority(self, cpu: int, intid: int) -> int:
        return self.priv_priority[cpu][intid] if intid < NUM_PRIVATE else self.spi_priority[intid]

    def group(self, cpu: int, intid: int) -> int:
        mask = self.priv_group[cpu] if intid < NUM_PRIVATE else self.spi_group
        return mask >> intid & 1

    def is_active(self, cpu: int, intid: int) -> bool:
        mask = self.priv_active[cpu] if intid < NUM_PRIVATE else self.spi_active
        return bool(mask >> intid & 1)

    def highest_pending(self, cpu: int) -> Pending | None:
        """The highest-priority interrupt the distributor forwards to ``cpu``: pending and
        not active, enabled, targeted at ``cpu``, in a group enabled in GICD_CTLR (spec
        3.2, 4.3.1). Equal priorities: the lowest INTID wins."""
        ctlr = self.regs["CTLR"]
        if not ctlr & (GICD_CTLR_ENABLE_GRP0 | GICD_CTLR_ENABLE_GRP1):
            return None
        priv = self._priv_pending(cpu) & self.priv_enabled[cpu] & ~self.priv_active[cpu]
        spi = self._spi_pending() & self.spi_enabled & ~self.spi_active & self._route[cpu]
        if not ctlr & GICD_CTLR_ENABLE_GRP0:
            priv &= self.priv_group[cpu]
            spi &= self.spi_group
        if not ctlr & GICD_CTLR_ENABLE_GRP1:
            priv &= ~self.priv_group[cpu]
            spi &= ~self.spi_group
        best, best_prio = -1, 0x100
        prios = self.priv_priority[cpu]
        for i in _bits(priv & _WORD):
            if prios[i] < best_prio:
                best, best_prio = i, prios[i]
        prios = self.spi_priority
        for i in _bits(spi):
            if prios[i] < best_prio:
                best, best_prio = i, prios[i]
        if best < 0:
            return None
        source = _lowest_bit(self.sgi_sources[cpu][best]) if best < NUM_SGIS else 0
        return Pending(best, best_prio, self.group(cpu, best), source)

    # --- state changes made by the CPU interfaces ----------------------------------------

    def acknowledge(self, cpu: int, intid: int) -> int:
        """Pending -> active (or active and pending, for a level input still high, or an SGI
        still pending from another source). Returns the source CPU of an SGI, else 0."""
        bit = 1 << intid
        source = 0
        if intid < NUM_SGIS:
            sources = self.sgi_sources[cpu][intid]
            source = _lowest_bit(sources) if sources else 0
            self._set_sgi_sources(cpu, intid, sources & ~(1 << source))
            self.priv_active[cpu] |= bit
        elif intid < NUM_PRIVATE:
            self.priv_latch[cpu] &= ~bit
            self.priv_active[cpu] |= bit
        else:
            self.spi_latch &= ~bit
            self.spi_active |= bit
        return source

    def deactivate(self, cpu: int, intid: int) -> bool:
        """Active -> inactive (spec 3.2.4). Returns whether it was active."""
        if intid >= self.num_irqs:
            return False
        bit = 1 << intid
        if intid < NUM_PRIVATE:
            was = self.priv_active[cpu] & bit
            self.priv_active[cpu] &= ~bit
        else:
            was = self.spi_active & bit
            self.spi_active &= ~bit
        return bool(was)

    def set_input(self, intid: int, level: bool, cpu: int) -> None:
        """The input wire of a PPI (of ``cpu``) or an SPI changes level. No _update()."""
        bit = 1 << intid
        if intid < NUM_PRIVATE:
            old = self.priv_level[cpu] & bit
            if level and not old and self.priv_edge[cpu] & bit:
                self.priv_latch[cpu] |= bit     # rising edge on an edge-triggered input
            self.priv_level[cpu] = self.priv_level[cpu] | bit if level else self.priv_level[cpu] & ~bit
        else:
            old = self.spi_level & bit
            if level and not old and self.spi_edge & bit:
                self.spi_latch |= bit
            self.spi_level = self.spi_level | bit if level else self.spi_level & ~bit

    def _set_sgi_sources(self, cpu: int, sgi: int, sources: int) -> None:
        self.sgi_sources[cpu][sgi] = sources
        if sources:
            self._sgi_pending[cpu] |= 1 << sgi
        else:
            self._sgi_pending[cpu] &= ~(1 << sgi)

    def _recompute_routes(self) -> None:
        spis = ((1 << self.num_irqs) - 1) & ~_WORD
        if self.gic.num_cpus == 1:
            self._route = [spis]    # uniprocessor: every SPI targets CPU 0 (spec 4.3.12)
            return
        route = [0] * self.gic.num_cpus
        for intid in range(NUM_PRIVATE, self.num_irqs):
            for c in _bits(self.spi_targets[intid]):
                route[c] |= 1 << intid
        self._route = route

    # --- bit-per-interrupt registers: word n covers INTIDs 32n..32n+31 --------------------

    def _get_word(self, priv: list[int], spi: int, n: int) -> int:
        if n == 0:
            return priv[self.cpu]
        if n < self.words:
            return (spi >> (32 * n)) & _WORD
        return 0                                # beyond ITLinesNumber: RAZ/WI

    def _update_word(self, name: str, n: int, set_bits: int, clear_bits: int,
                     private_mask: int = _WORD) -> None:
        """Set then clear bits of word ``n`` of the ``priv_<name>``/``spi_<name>`` masks."""
        if n == 0:
            masks = getattr(self, "priv_" + name)
            masks[self.cpu] = (masks[self.cpu] | (set_bits & private_mask)) & ~(clear_bits & private_mask)
        elif n < self.words:
            spi = getattr(self, "spi_" + name)
            setattr(self, "spi_" + name, (spi | (set_bits << (32 * n))) & ~(clear_bits << (32 * n)))
        else:
            return
        self.gic._update()

    def _read_typer(self) -> int:
        return (self.words - 1) | ((self.gic.num_cpus - 1) << 5)

    def _read_igroupr(self, n: int) -> int:
        return self._get_word(self.priv_group, self.spi_group, n)

    def _write_igroupr(self, n: int, value: int) -> None:
        self._update_word("group", n, value, ~value & _WORD)

    def _read_enabled(self, n: int) -> int:
        return self._get_word(self.priv_enabled, self.spi_enabled, n)

    def _write_isenabler(self, n: int, value: int) -> None:
        self._update_word("enabled", n, value, 0, _PPI_BITS)

    def _write_icenabler(self, n: int, value: int) -> None:
        self._update_word("enabled", n, 0, value, _PPI_BITS)

    def _read_pending(self, n: int) -> int:
        if n == 0:
            return self._priv_pending(self.cpu)
        return (self._spi_pending() >> (32 * n)) & _WORD if n < self.words else 0

    def _write_ispendr(self, n: int, value: int) -> None:
        # SGI bits are WI: SGIs become pending through GICD_SGIR/SPENDSGIR (spec 4.3.7).
        self._update_word("latch", n, value, 0, _PPI_BITS)

    def _write_icpendr(self, n: int, value: int) -> None:
        # Clears the latch only: a level-sensitive input that is still high keeps the
        # interrupt pending (spec 4.3.8).
        self._update_word("latch", n, 0, value, _PPI_BITS)

    def _read_active(self, n: int) -> int:
        return self._get_word(self.priv_active, self.spi_active, n)

    def _write_isactiver(self, n: int, value: int) -> None:
        self._update_word("active", n, value, 0)

    def _write_icactiver(self, n: int, value: int) -> None:
        self._update_word("active", n, 0, value)

    # --- byte-per-interrupt registers: word n covers INTIDs 4n..4n+3 ----------------------

    def _read_ipriorityr(self, n: int) -> int:
        if n < NUM_PRIVATE // 4:
            prios = self.priv_priority[self.cpu]
        elif n < self.num_irqs // 4:
            prios = self.spi_priority
        else:
            return 0
        base = 4 * n
        return prios[base] | prios[base + 1] << 8 | prios[base + 2] << 16 | prios[base + 3] << 24

    def _write_ipriorityr(self, n: int, value: int) -> None:
        if n < NUM_PRIVATE // 4:
            prios = self.priv_priority[self.cpu]
        elif n < self.num_irqs // 4:
            prios = self.spi_priority
        else:
            return
        for k in range(4):
            prios[4 * n + k] = (value >> (8 * k)) & 0xFF
        self.gic._update()

    def _read_itargetsr(self, n: int) -> int:
        if self.gic.num_cpus == 1:
            return 0                            # uniprocessor: RAZ/WI (spec 4.3.12)
        if n < NUM_PRIVATE // 4:
            return (1 << self.cpu) * 0x01010101  # SGIs/PPIs: the reading CPU, read-only
        if n >= self.num_irqs // 4:
            return 0
        t = self.spi_targets
        base = 4 * n
        return t[base] | t[base + 1] << 8 | t[base + 2] << 16 | t[base + 3] << 24

    def _write_itargetsr(self, n: int, value: int) -> None:
        if self.gic.num_cpus == 1 or n < NUM_PRIVATE // 4 or n >= self.num_irqs // 4:
            return
        for k in range(4):
            self.spi_targets[4 * n + k] = (value >> (8 * k)) & self._cpu_mask
        self._recompute_routes()
        self.gic._update()

    # --- GICD_ICFGRn: two bits per interrupt, word n covers INTIDs 16n..16n+15 -------------

    def _read_icfgr(self, n: int) -> int:
        if n == 0:
            return 0xAAAAAAAA                   # SGIs: always edge-triggered
        if n == 1:
            return _spread_edge(self.priv_edge[self.cpu] >> 16)
        if n < 2 * self.words:
            return _spread_edge((self.spi_edge >> (16 * n)) & 0xFFFF)
        return 0

    def _write_icfgr(self, n: int, value: int) -> None:
        edge = _gather_edge(value)
        if n == 1:
            self.priv_edge[self.cpu] = edge << 16
        elif 2 <= n < 2 * self.words:
            self.spi_edge = (self.spi_edge & ~(0xFFFF << (16 * n))) | (edge << (16 * n))
        else:
            return
        self.gic._update()

    # --- SGIs -----------------------------------------------------------------------------

    def _write_sgir(self, value: int) -> None:
        sgi = value & 0xF
        target_list = (value >> 16) & 0xFF
        list_filter = (value >> 24) & 0x3
        if list_filter == 0:
            targets = target_list
        elif list_filter == 1:
            targets = ~(1 << self.cpu)          # every CPU but the requester
        elif list_filter == 2:
            targets = 1 << self.cpu
        else:
            self.guest_error(f"GICD_SGIR {value:#x}: TargetListFilter 0b11 is reserved")
            return
        for target in _bits(targets & self._cpu_mask):
            self._set_sgi_sources(target, sgi, self.sgi_sources[target][sgi] | (1 << self.cpu))
        self.gic._update()

    def _read_sgi_sources(self, n: int) -> int:
        src = self.sgi_sources[self.cpu]
        return src[4 * n] | src[4 * n + 1] << 8 | src[4 * n + 2] << 16 | src[4 * n + 3] << 24

    def _write_sgi_sources(self, n: int, value: int, pend: bool) -> None:
        for k in range(4):
            sgi = 4 * n + k
            byte = (value >> (8 * k)) & self._cpu_mask
            old = self.sgi_sources[self.cpu][sgi]
            self._set_sgi_sources(self.cpu, sgi, old | byte if pend else old & ~byte)
        self.gic._update()

    def _write_spendsgir(self, n: int, value: int) -> None:
        self._write_sgi_sources(n, value, pend=True)

    def _write_cpendsgir(self, n: int, value: int) -> None:
        self._write_sgi_sources(n, value, pend=False)

    # --- life cycle -----------------------------------------------------------------------

    def reset(self) -> None:
        super().reset()
        self._clear_state()

    _PRIV_FIELDS = ("priv_enabled", "priv_group", "priv_active", "priv_latch", "priv_level",
                    "priv_edge", "priv_priority", "sgi_sources")
    _SPI_FIELDS = ("spi_enabled", "spi_group", "spi_active", "spi_latch", "spi_level", "spi_edge")

    def state(self) -> dict[str, Any]:
        s = super().state()
        for name in self._PRIV_FIELDS:
            s[name] = [list(v) if isinstance(v, list) else v for v in getattr(self, name)]
        for name in self._SPI_FIELDS:
            s[name] = getattr(self, name)
        s["spi_priority"] = list(self.spi_priority)
        s["spi_targets"] = list(self.spi_targets)
        return s

    def from_state(self, state: dict[str, Any]) -> None:
        super().from_state(state)
        self._clear_state()
        n = self.gic.num_cpus
        for name in self._PRIV_FIELDS:
            if name in state:
                values = state[name]
                if len(values) != n:
                    raise ValueError(f"gicd snapshot: {name} has {len(values)} CPUs, not {n}")
                setattr(self, name, [list(map(int, v)) if isinstance(v, list) else int(v) for v in values])
        for name in self._SPI_FIELDS:
            if name in state:
                setattr(self, name, int(state[name]))
        for name in ("spi_priority", "spi_targets"):
            if name in state:
                values = [int(v) for v in state[name]]
                if len(values) != self.num_irqs:
                    raise ValueError(f"gicd snapshot: {name} has {len(values)} entries, not {self.num_irqs}")
                setattr(self, name, values)
        self._sgi_pending = [sum(1 << i for i, s in enumerate(srcs) if s) for srcs in self.sgi_sources]
        self._recompute_routes()


# =========================================================================================
# CPU interface
# =========================================================================================

def _group_priority(priority: int, group: int, ctlr: int, bpr: int, abpr: int) -> int:
    """The group priority field of ``priority`` (spec 3.3.3, Table 3-2): Group 0, or Group 1
    with CBPR, uses BPR (group priority [7:BPR+1]); Group 1 otherwise uses ABPR, whose value
    n means group priority [7:n]."""
    if group == 0 or ctlr & GICC_CTLR_CBPR:
        return priority & (0xFF << (bpr + 1)) & 0xFF
    return priority & (0xFF << abpr) & 0xFF


class GicCpuInterface(_GicFrame):
    """GICC: one banked CPU interface per CPU (spec 4.4).

    Active priorities are the GICC_APRn (Group 0) and GICC_NSAPRn (Group 1) registers
    themselves: bit b of the 128 bits set while an interrupt of group priority 2b is active
    (spec 4.4.13, the layout for 7 preemption bits). The running priority is the highest of
    them, or idle (0xff).
    """

    SIZE = 0x2000
    BANKED = True

    REGS = RegisterMap(
        Reg("CTLR", 0x000, mask=GICC_CTLR_MASK, on_change="_changed",
            fields=flags("EnableGrp0", "EnableGrp1", "AckCtl", "FIQEn", "CBPR")
            + (Field("EOImode", 9),)),
        Reg("PMR", 0x004, mask=0xFF, on_change="_changed", fields=(Field("Priority", 0, 8),)),
        Reg("BPR", 0x008, mask=0x7, reset=PHYS_MIN_BPR, on_write="_write_bpr", on_change="_changed"),
        Reg("IAR", 0x00C, access=RO, on_read="_read_iar",
            fields=(Field("InterruptID", 0, 10), Field("CPUID", 10, 3))),
        Reg("EOIR", 0x010, access=WO, on_write="_write_eoir"),
        Reg("RPR", 0x014, access=RO, on_read="_read_rpr"),
        Reg("HPPIR", 0x018, access=RO, on_read="_read_hppir"),
        Reg("ABPR", 0x01C, mask=0x7, reset=PHYS_MIN_ABPR, on_write="_write_abpr", on_change="_changed"),
        Reg("AIAR", 0x020, access=RO, unimplemented=True),
        Reg("AEOIR", 0x024, access=WO, unimplemented=True),
        Reg("AHPPIR", 0x028, access=RO, unimplemented=True),
        Reg("APR", 0x0D0, count=4, on_change="_changed"),
        Reg("NSAPR", 0x0E0, count=4, on_change="_changed"),
        Reg("IIDR", 0x0FC, access=RO, reset=GICC_IIDR_VALUE),
        Reg("DIR", 0x1000, access=WO, on_write="_write_dir"),
    )

    def __init__(self, gic: "Gicv2", log: LogSink | None):
        super().__init__(gic, log, "gicc")

    def _changed(self) -> None:
        self.gic._update()

    def _write_bpr(self, value: int) -> None:
        self.regs["BPR"] = max(value, PHYS_MIN_BPR)

    def _write_abpr(self, value: int) -> None:
        self.regs["ABPR"] = max(value, PHYS_MIN_ABPR)

    # --- active priorities -----------------------------------------------------------------

    @staticmethod
    def _apr_bits(bank: RegisterFile, name: str) -> int:
        words = bank[name]
        return words[0] | words[1] << 32 | words[2] << 64 | words[3] << 96

    @staticmethod
    def _set_apr_bits(bank: RegisterFile, name: str, bits: int) -> None:
        bank[name] = [(bits >> (32 * i)) & _WORD for i in range(4)]

    def running_priority(self, cpu: int) -> int:
        """The group priority of the highest active priority; 0x100 when idle (so that
        every priority compares below it)."""
        bank = self.banks[cpu]
        active = self._apr_bits(bank, "APR") | self._apr_bits(bank, "NSAPR")
        return _lowest_bit(active) << 1 if active else 0x100

    def group_priority(self, cpu: int, priority: int, group: int) -> int:
        bank = self.banks[cpu]
        return _group_priority(priority, group, bank["CTLR"], bank["BPR"], bank["ABPR"])

    # --- what the interface presents -------------------------------------------------------

    def _highest(self, cpu: int) -> Pending | None:
        """The distributor's candidate if the interface is enabled and GICC_PMR lets it
        through (spec 3.3.2: priority strictly higher than the mask)."""
        bank = self.banks[cpu]
        if not bank["CTLR"] & (GICC_CTLR_ENABLE_GRP0 | GICC_CTLR_ENABLE_GRP1):
            return None
        best = self.gic.gicd.highest_pending(cpu)
        if best is None or best.priority >= bank["PMR"]:
            return None
        return best

    def signal(self, cpu: int) -> tuple[bool, bool]:
        """(IRQ, FIQ) for ``cpu``: the highest pending interrupt preempts the running
        priority and its group is enabled here (spec 3.3, 3.6)."""
        best = self._highest(cpu)
        if best is None:
            return False, False
        if self.group_priority(cpu, best.priority, best.group) >= self.running_priority(cpu):
            return False, False
        ctlr = self.banks[cpu]["CTLR"]
        if not ctlr & (GICC_CTLR_ENABLE_GRP0 << best.group):
            return False, False
        fiq = best.group == 0 and bool(ctlr & GICC_CTLR_FIQEN)
        return not fiq, fiq

    def hppir(self, cpu: int) -> int:
        best = self._highest(cpu)
        if best is None:
            return INTID_SPURIOUS
        if best.group == 1 and not self.banks[cpu]["CTLR"] & GICC_CTLR_ACKCTL:
            return INTID_GROUP1_PENDING
        return best.intid | (best.source << GICC_IAR_CPUID_SHIFT)

    def acknowledge(self, cpu: int) -> int:
        """GICC_IAR (spec 4.4.4): the highest pending interrupt becomes active and its group
        priority the running priority; 1023 if nothing may preempt."""
        best = self._highest(cpu)
        if best is None:
            return INTID_SPURIOUS
        bank = self.banks[cpu]
        if best.group == 1 and not bank["CTLR"] & GICC_CTLR_ACKCTL:
            return INTID_GROUP1_PENDING
        gprio = self.group_priority(cpu, best.priority, best.group)
        if gprio >= self.running_priority(cpu):
            return INTID_SPURIOUS
        source = self.gic.gicd.acknowledge(cpu, best.intid)
        name = "NSAPR" if best.group else "APR"
        self._set_apr_bits(bank, name, self._apr_bits(bank, name) | (1 << (gprio >> 1)))
        self.gic._update()
        return best.intid | (source << GICC_IAR_CPUID_SHIFT)

    def end_of_interrupt(self, cpu: int, value: int) -> None:
        """GICC_EOIR (spec 4.4.5): priority drop, then deactivation unless EOImode."""
        intid = value & 0x3FF
        if intid >= self.gic.gicd.num_irqs:
            return                              # spurious IDs 1020-1023: ignored
        bank = self.banks[cpu]
        if self.running_priority(cpu) > GIC_PRIORITY_IDLE:
            self.guest_error(f"GICC_EOIR {value:#x} with no active priority: ignored")
            return
        # Drop the highest active priority of the interrupt's group (spec 3.3.3: EOIR
        # applies to the most recently acknowledged interrupt, so that is its priority).
        name = "NSAPR" if self.gic.gicd.group(cpu, intid) else "APR"
        active = self._apr_bits(bank, name)
        self._set_apr_bits(bank, name, active & (active - 1))
        if not bank["CTLR"] & GICC_CTLR_EOIMODE:
            self._deactivate(cpu, intid, "GICC_EOIR")
        self.gic._update()

    def _deactivate(self, cpu: int, intid: int, via: str) -> None:
        if not self.gic.gicd.deactivate(cpu, intid):
            self.guest_error(f"{via} of INTID {intid}, which is not active", once=f"{via}-inactive")

    # --- handlers ----------------------------------------------------------------------------

    def _read_iar(self) -> int:
        return self.acknowledge(self.cpu)

    def _write_eoir(self, value: int) -> None:
        self.end_of_interrupt(self.cpu, value)

    def _read_rpr(self) -> int:
        return min(self.running_priority(self.cpu), GIC_PRIORITY_IDLE)

    def _read_hppir(self) -> int:
        return self.hppir(self.cpu)

    def _write_dir(self, value: int) -> None:
        """GICC_DIR (spec 4.4.15): deactivation alone, for EOImode 1."""
        intid = value & 0x3FF
        if not self.regs["CTLR"] & GICC_CTLR_EOIMODE:
            self.guest_error(f"GICC_DIR {value:#x} written with GICC_CTLR.EOImode 0: ignored")
            return
        if intid >= self.gic.gicd.num_irqs:
            return
        self._deactivate(self.cpu, intid, "GICC_DIR")
        self.gic._update()


# =========================================================================================
# Virtual interface control and virtual CPU interface
# =========================================================================================

def _lr_state(lr: int) -> int:
    return (lr >> GICH_LR_STATE_SHIFT) & 0x3


def _lr_priority(lr: int) -> int:
    return ((lr >> GICH_LR_PRIORITY_SHIFT) & 0x1F) << 3


def _lr_group(lr: int) -> int:
    return 1 if lr & GICH_LR_GRP1 else 0


class GicHypInterface(_GicFrame):
    """GICH: the hypervisor's control of one virtual CPU interface per CPU (spec 5.3), and
    the behaviour of that virtual interface, which GICV (below) only presents.

    GICH_VMCR holds the virtual CPU interface's GICV_CTLR, GICV_PMR, GICV_BPR and GICV_ABPR
    (spec 5.3.3); GICH_APR its active priorities (bit b: group priority 8b active).
    """

    SIZE = 0x1000
    BANKED = True

    REGS = RegisterMap(
        Reg("HCR", 0x000, mask=GICH_HCR_MASK, on_change="_changed",
            fields=flags("En", "UIE", "LRENPIE", "NPIE", "VGrp0EIE", "VGrp0DIE", "VGrp1EIE",
                         "VGrp1DIE") + (Field("EOICount", GICH_HCR_EOICOUNT_SHIFT, 5),)),
        Reg("VTR", 0x004, access=RO, reset=GICH_VTR_VALUE,
            fields=(Field("ListRegs", 0, 6), Field("PREbits", 26, 3), Field("PRIbits", 29, 3))),
        Reg("VMCR", 0x008, mask=GICH_VMCR_MASK, reset=GICH_VMCR_RESET, on_write="_write_vmcr",
            on_change="_changed",
            fields=flags("VMGrp0En", "VMGrp1En", "VMAckCtl", "VMFIQEn", "VMCBPR")
            + (Field("VEM", 9), Field("VMABP", GICH_VMCR_VMABP_SHIFT, 3),
               Field("VMBP", GICH_VMCR_VMBP_SHIFT, 3),
               Field("VMPriMask", GICH_VMCR_VMPRIMASK_SHIFT, 5))),
        Reg("MISR", 0x010, access=RO, on_read="_read_misr",
            fields=flags("EOI", "U", "LRENP", "NP", "VGrp0E", "VGrp0D", "VGrp1E", "VGrp1D")),
        Reg("EISR", 0x020, count=2, access=RO, on_read="_read_eisr"),
        Reg("ELSR", 0x030, count=2, access=RO, on_read="_read_elsr"),
        Reg("APR", 0x0F0, on_change="_changed"),
        Reg("LR", 0x100, count=NUM_LRS, mask=GICH_LR_MASK, on_change="_changed",
            fields=(Field("VirtualID", 0, 10), Field("PhysicalID", 10, 10),
                    Field("Priority", 23, 5), Field("State", 28, 2), Field("Grp1", 30),
                    Field("HW", 31))),
    )

    def __init__(self, gic: "Gicv2", log: LogSink | None):
        super().__init__(gic, log, "gich")

    def _changed(self) -> None:
        self.gic._update()

    @staticmethod
    def clamp_vmcr(value: int) -> int:
        """VMBP and VMABP below the minimum binary point read as the minimum."""
        vmbp = max((value >> GICH_VMCR_VMBP_SHIFT) & 7, VIRT_MIN_BPR)
        vmabp = max((value >> GICH_VMCR_VMABP_SHIFT) & 7, VIRT_MIN_ABPR)
        value &= ~((7 << GICH_VMCR_VMBP_SHIFT) | (7 << GICH_VMCR_VMABP_SHIFT))
        return value | (vmbp << GICH_VMCR_VMBP_SHIFT) | (vmabp << GICH_VMCR_VMABP_SHIFT)

    def _write_vmcr(self, value: int) -> None:
        self.regs["VMCR"] = self.clamp_vmcr(value)

    # --- computed status (spec 5.3.4-5.3.6) -----------------------------------------------

    def eisr(self, cpu: int) -> int:
        """List registers invalid with EOI=1 and HW=0: a deactivation the hypervisor asked
        to hear about."""
        mask = 0
        for i, lr in enumerate(self.banks[cpu]["LR"]):
            if _lr_state(lr) == 0 and lr & GICH_LR_EOI and not lr & GICH_LR_HW:
                mask |= 1 << i
        return mask

    def elsr(self, cpu: int) -> int:
        """Empty list registers: invalid, and not waiting for an EOI maintenance interrupt."""
        mask = 0
        for i, lr in enumerate(self.banks[cpu]["LR"]):
            if _lr_state(lr) == 0 and (lr & GICH_LR_HW or not lr & GICH_LR_EOI):
                mask |= 1 << i
        return mask

    def misr(self, cpu: int) -> int:
        bank = self.banks[cpu]
        hcr, vmcr, lrs = bank["HCR"], bank["VMCR"], bank["LR"]
        misr = 0
        if self.eisr(cpu):
            misr |= GICH_MISR_EOI
        if hcr & GICH_HCR_UIE and sum(1 for lr in lrs if _lr_state(lr)) <= 1:
            misr |= GICH_MISR_U     # underflow: at most one valid list register
        if hcr & GICH_HCR_LRENPIE and hcr >> GICH_HCR_EOICOUNT_SHIFT:
            misr |= GICH_MISR_LRENP
        if hcr & GICH_HCR_NPIE and not any(_lr_state(lr) == GICH_LR_STATE_PENDING for lr in lrs):
            misr |= GICH_MISR_NP
        grp0, grp1 = vmcr & GICC_CTLR_ENABLE_GRP0, vmcr & GICC_CTLR_ENABLE_GRP1
        if hcr & GICH_HCR_VGRP0EIE and grp0:
            misr |= GICH_MISR_VGRP0E
        if hcr & GICH_HCR_VGRP0DIE and not grp0:
            misr |= GICH_MISR_VGRP0D
        if hcr & GICH_HCR_VGRP1EIE and grp1:
            misr |= GICH_MISR_VGRP1E
        if hcr & GICH_HCR_VGRP1DIE and not grp1:
            misr |= GICH_MISR_VGRP1D
        return misr

    def maintenance(self, cpu: int) -> bool:
        """The maintenance interrupt's level (spec 5.3.4: GICH_HCR.En and any MISR bit)."""
        return bool(self.banks[cpu]["HCR"] & GICH_HCR_EN) and bool(self.misr(cpu))

    def _read_misr(self) -> int:
        return self.misr(self.cpu)

    def _read_eisr(self, n: int) -> int:
        return self.eisr(self.cpu) if n == 0 else 0

    def _read_elsr(self, n: int) -> int:
        return self.elsr(self.cpu) if n == 0 else 0

    # --- the virtual CPU interface ----------------------------------------------------------

    def virtual_group_priority(self, cpu: int, priority: int, group: int) -> int:
        vmcr = self.banks[cpu]["VMCR"]
        return _group_priority(priority, group, vmcr, (vmcr >> GICH_VMCR_VMBP_SHIFT) & 7,
                               (vmcr >> GICH_VMCR_VMABP_SHIFT) & 7)

    def virtual_running_priority(self, cpu: int) -> int:
        apr = self.banks[cpu]["APR"]
        return _lowest_bit(apr) << 3 if apr else 0x100

    def _best_lr(self, cpu: int) -> int | None:
        """The list register holding the highest-priority pending virtual interrupt below
        the virtual priority mask, if the virtual interface is enabled (GICH_HCR.En and a
        group in GICV_CTLR). Equal priorities: the lowest list register wins."""
        bank = self.banks[cpu]
        vmcr = bank["VMCR"]
        if not bank["HCR"] & GICH_HCR_EN or not vmcr & (GICC_CTLR_ENABLE_GRP0 | GICC_CTLR_ENABLE_GRP1):
            return None
        best, best_prio = None, 0x100
        for i, lr in enumerate(bank["LR"]):
            if _lr_state(lr) == GICH_LR_STATE_PENDING and _lr_priority(lr) < best_prio:
                best, best_prio = i, _lr_priority(lr)
        primask = (vmcr >> GICH_VMCR_VMPRIMASK_SHIFT) << 3
        if best is None or best_prio >= primask:
            return None
        return best

    @staticmethod
    def _virtual_intid(lr: int) -> int:
        vid = lr & GICH_LR_VIRTUALID
        if vid < NUM_SGIS and not lr & GICH_LR_HW:
            vid |= ((lr >> GICH_LR_CPUID_SHIFT) & 0x7) << GICC_IAR_CPUID_SHIFT
        return vid

    def virtual_signal(self, cpu: int) -> tuple[bool, bool]:
        """(vIRQ, vFIQ) for ``cpu`` (spec 5.2: the virtual CPU interface signals like a
        physical one, over the list registers)."""
        i = self._best_lr(cpu)
        if i is None:
            return False, False
        bank = self.banks[cpu]
        lr, vmcr = bank["LR", i], bank["VMCR"]
        group = _lr_group(lr)
        if self.virtual_group_priority(cpu, _lr_priority(lr), group) >= self.virtual_running_priority(cpu):
            return False, False
        if not vmcr & (GICC_CTLR_ENABLE_GRP0 << group):
            return False, False
        vfiq = group == 0 and bool(vmcr & GICC_CTLR_FIQEN)
        return not vfiq, vfiq

    def virtual_hppir(self, cpu: int) -> int:
        i = self._best_lr(cpu)
        if i is None:
            return INTID_SPURIOUS
        bank = self.banks[cpu]
        lr = bank["LR", i]
        if _lr_group(lr) == 1 and not bank["VMCR"] & GICC_CTLR_ACKCTL:
            return INTID_GROUP1_PENDING
        return self._virtual_intid(lr)

    def virtual_acknowledge(self, cpu: int) -> int:
        """GICV_IAR (spec 5.4.1): the list register's state goes pending -> active, its
        group priority is recorded in GICH_APR; returns its VirtualID (and CPUID for SGIs)."""
        i = self._best_lr(cpu)
        if i is None:
            return INTID_SPURIOUS
        bank = self.banks[cpu]
        lr = bank["LR", i]
        group = _lr_group(lr)
        if group == 1 and not bank["VMCR"] & GICC_CTLR_ACKCTL:
            return INTID_GROUP1_PENDING
        gprio = self.virtual_group_priority(cpu, _lr_priority(lr), group)
        if gprio >= self.virtual_running_priority(cpu):
            return INTID_SPURIOUS
        bank["LR", i] = (lr & ~(0x3 << GICH_LR_STATE_SHIFT)) | (GICH_LR_STATE_ACTIVE << GICH_LR_STATE_SHIFT)
        bank["APR"] |= 1 << (gprio >> 3)
        self.gic._update()
        return self._virtual_intid(lr)

    def virtual_end_of_interrupt(self, cpu: int, value: int) -> None:
        """GICV_EOIR: priority drop, then (VMCR.VEM 0) deactivation."""
        bank = self.banks[cpu]
        apr = bank["APR"]
        if apr:
            bank["APR"] = apr & (apr - 1)       # drop the highest active priority
        else:
            self.guest_error(f"GICV_EOIR {value:#x} with no active priority", once="gicv-eoir-idle")
        if not bank["VMCR"] & GICC_CTLR_EOIMODE:
            # Without a priority drop the write is not "successful": no EOICount for it.
            self._virtual_deactivate(cpu, value, count_miss=bool(apr))
        self.gic._update()

    def virtual_deactivate(self, cpu: int, value: int) -> None:
        """GICV_DIR (spec 5.4.1)."""
        if not self.banks[cpu]["VMCR"] & GICC_CTLR_EOIMODE:
            self.guest_error(f"GICV_DIR {value:#x} written with GICV_CTLR.EOImode 0", once="gicv-dir")
        self._virtual_deactivate(cpu, value)
        self.gic._update()

    def _virtual_deactivate(self, cpu: int, value: int, count_miss: bool = True) -> None:
        """Deactivate the list register that holds ``value``'s interrupt in the active state;
        with HW=1 also the physical interrupt. None: GICH_HCR.EOICount + 1 (spec 5.3.1)."""
        bank = self.banks[cpu]
        vid = value & GICH_LR_VIRTUALID
        cpuid = (value >> GICC_IAR_CPUID_SHIFT) & 0x7
        for i, lr in enumerate(bank["LR"]):
            if lr & GICH_LR_VIRTUALID != vid or not _lr_state(lr) & GICH_LR_STATE_ACTIVE:
                continue
            if vid < NUM_SGIS and not lr & GICH_LR_HW and (lr >> GICH_LR_CPUID_SHIFT) & 0x7 != cpuid:
                continue
            bank["LR", i] = lr & ~(GICH_LR_STATE_ACTIVE << GICH_LR_STATE_SHIFT)
            if lr & GICH_LR_HW:
                physical = (lr >> GICH_LR_PHYSICALID_SHIFT) & 0x3FF
                if NUM_SGIS <= physical < self.gic.gicd.num_irqs:
                    self.gic.gicd.deactivate(cpu, physical)
                else:
                    self.guest_error(f"GICH_LR{i} has HW=1 with PhysicalID {physical}, "
                                     "not a PPI or SPI: nothing deactivated")
            return
        if not count_miss:
            return
        hcr = bank["HCR"]
        count = ((hcr >> GICH_HCR_EOICOUNT_SHIFT) + 1) & 0x1F
        bank["HCR"] = (hcr & ~(0x1F << GICH_HCR_EOICOUNT_SHIFT)) | (count << GICH_HCR_EOICOUNT_SHIFT)


class GicVirtualCpuInterface(_GicFrame):
    """GICV: the virtual CPU interface as the guest sees it, GICC's layout (spec 5.6). Every
    register is the current CPU's GICH state: CTLR, PMR, BPR and ABPR are fields of
    GICH_VMCR, APR0 is GICH_APR, IAR/EOIR/DIR/HPPIR/RPR act on the list registers."""

    SIZE = 0x2000

    REGS = RegisterMap(
        Reg("CTLR", 0x000, on_read="_read_ctlr", on_write="_write_ctlr",
            fields=flags("EnableGrp0", "EnableGrp1", "AckCtl", "FIQEn", "CBPR")
            + (Field("EOImode", 9),)),
        Reg("PMR", 0x004, on_read="_read_pmr", on_write="_write_pmr"),
        Reg("BPR", 0x008, on_read="_read_bpr", on_write="_write_bpr"),
        Reg("IAR", 0x00C, access=RO, on_read="_read_iar"),
        Reg("EOIR", 0x010, access=WO, on_write="_write_eoir"),
        Reg("RPR", 0x014, access=RO, on_read="_read_rpr"),
        Reg("HPPIR", 0x018, access=RO, on_read="_read_hppir"),
        Reg("ABPR", 0x01C, on_read="_read_abpr", on_write="_write_abpr"),
        Reg("AIAR", 0x020, access=RO, unimplemented=True),
        Reg("AEOIR", 0x024, access=WO, unimplemented=True),
        Reg("AHPPIR", 0x028, access=RO, unimplemented=True),
        # APR0 is GICH_APR; with 5 preemption bits APR1-3 and the NSAPRs are RAZ/WI.
        Reg("APR", 0x0D0, count=4, on_read="_read_apr", on_write="_write_apr"),
        Reg("NSAPR", 0x0E0, count=4, on_read="_read_raz", on_write="_write_wi"),
        Reg("IIDR", 0x0FC, access=RO, reset=GICC_IIDR_VALUE),
        Reg("DIR", 0x1000, access=WO, on_write="_write_dir"),
    )

    def __init__(self, gic: "Gicv2", log: LogSink | None):
        super().__init__(gic, log, "gicv")

    @property
    def _hyp(self) -> RegisterFile:
        return self.gic.gich.banks[self.cpu]

    def _set_vmcr(self, vmcr: int) -> None:
        self._hyp["VMCR"] = GicHypInterface.clamp_vmcr(vmcr & GICH_VMCR_MASK)
        self.gic._update()

    def _vmcr_field(self, shift: int, width: int) -> int:
        return (self._hyp["VMCR"] >> shift) & ((1 << width) - 1)

    def _put_vmcr_field(self, shift: int, width: int, value: int) -> None:
        mask = ((1 << width) - 1) << shift
        self._set_vmcr((self._hyp["VMCR"] & ~mask) | ((value << shift) & mask))

    def _read_ctlr(self) -> int:
        return self._hyp["VMCR"] & GICH_VMCR_CTLR_MASK

    def _write_ctlr(self, value: int) -> None:
        self._set_vmcr((self._hyp["VMCR"] & ~GICH_VMCR_CTLR_MASK) | (value & GICH_VMCR_CTLR_MASK))

    def _read_pmr(self) -> int:
        return self._vmcr_field(GICH_VMCR_VMPRIMASK_SHIFT, 5) << 3

    def _write_pmr(self, value: int) -> None:
        self._put_vmcr_field(GICH_VMCR_VMPRIMASK_SHIFT, 5, (value & 0xFF) >> 3)

    def _read_bpr(self) -> int:
        return self._vmcr_field(GICH_VMCR_VMBP_SHIFT, 3)

    def _write_bpr(self, value: int) -> None:
        self._put_vmcr_field(GICH_VMCR_VMBP_SHIFT, 3, value & 7)

    def _read_abpr(self) -> int:
        return self._vmcr_field(GICH_VMCR_VMABP_SHIFT, 3)

    def _write_abpr(self, value: int) -> None:
        self._put_vmcr_field(GICH_VMCR_VMABP_SHIFT, 3, value & 7)

    def _read_apr(self, n: int) -> int:
        return self._hyp["APR"] if n == 0 else 0

    def _write_apr(self, n: int, value: int) -> None:
        if n == 0:
            self._hyp["APR"] = value
            self.gic._update()

    def _read_raz(self, n: int) -> int:
        return 0

    def _write_wi(self, n: int, value: int) -> None:
        pass

    def _read_iar(self) -> int:
        return self.gic.gich.virtual_acknowledge(self.cpu)

    def _write_eoir(self, value: int) -> None:
        self.gic.gich.virtual_end_of_interrupt(self.cpu, value)

    def _write_dir(self, value: int) -> None:
        self.gic.gich.virtual_deactivate(self.cpu, value)

    def _read_rpr(self) -> int:
        return min(self.gic.gich.virtual_running_priority(self.cpu), GIC_PRIORITY_IDLE)

    def _read_hppir(self) -> int:
        return self.gic.gich.virtual_hppir(self.cpu)


# =========================================================================================
# The controller
# =========================================================================================

class Gicv2:
    """A GICv2 with virtualization extensions: four MMIO frames over one interrupt state.
    See the module docstring for the interface."""

    def __init__(self, num_cpus: int = 1, num_spis: int = 256,
                 current_cpu: Callable[[], int] = lambda: 0, log: LogSink | None = None):
        if not 1 <= num_cpus <= MAX_CPUS:
            raise ValueError(f"GICv2 supports 1 to {MAX_CPUS} CPUs, not {num_cpus}")
        if num_spis < 0 or num_spis % 32 or NUM_PRIVATE + num_spis > 1020:
            raise ValueError(f"num_spis must be a multiple of 32 up to 988, not {num_spis}")
        self.num_cpus = num_cpus
        self.num_spis = num_spis
        self.current_cpu = current_cpu
        self.outputs = [GicCpuOutputs(IrqLine(name=f"gic.cpu{c}.irq"), IrqLine(name=f"gic.cpu{c}.fiq"),
                                      IrqLine(name=f"gic.cpu{c}.virq"), IrqLine(name=f"gic.cpu{c}.vfiq"))
                        for c in range(num_cpus)]
        self.gicd = GicDistributor(self, log)
        self.gicc = GicCpuInterface(self, log)
        self.gich = GicHypInterface(self, log)
        self.gicv = GicVirtualCpuInterface(self, log)
        self._inputs: dict[tuple[int, int], IrqLine] = {}

    @property
    def num_irqs(self) -> int:
        return NUM_PRIVATE + self.num_spis

    @property
    def frames(self) -> tuple[MmioDevice, ...]:
        return (self.gicd, self.gicc, self.gich, self.gicv)

    # --- inputs --------------------------------------------------------------------------

    def _check_input(self, intid: int, cpu: int | None) -> int:
        if NUM_SGIS <= intid < NUM_PRIVATE:
            if cpu is None:
                raise ValueError(f"PPI {intid} needs the CPU whose PPI it is")
            if not 0 <= cpu < self.num_cpus:
                raise ValueError(f"PPI {intid}: no CPU {cpu}")
            return cpu
        if NUM_PRIVATE <= intid < self.num_irqs:
            return 0
        raise ValueError(f"INTID {intid} is not a PPI or SPI of this GIC (16-{self.num_irqs - 1})")

    def set_irq(self, intid: int, level: bool | int, cpu: int | None = None) -> None:
        """Drive the input of PPI ``intid`` of ``cpu``, or of SPI ``intid``."""
        cpu = self._check_input(intid, cpu)
        self.gicd.set_input(intid, bool(level), cpu)
        self._update()

    def input_line(self, intid: int, cpu: int | None = None) -> IrqLine:
        """An IrqLine wired to ``set_irq(intid, level, cpu)``; the same line for the same
        input every time."""
        cpu = self._check_input(intid, cpu)
        key = (intid, cpu)
        line = self._inputs.get(key)
        if line is None:
            name = f"gic.ppi{intid}.cpu{cpu}" if intid < NUM_PRIVATE else f"gic.spi{intid}"
            line = IrqLine(lambda level, i=intid, c=cpu: self.set_irq(i, level, c), name=name)
            self._inputs[key] = line
        return line

    # --- outputs -------------------------------------------------------------------------

    def _update(self) -> None:
        """Recompute every output from the state: the maintenance PPIs first (they are
        inputs of the distributor), then IRQ/FIQ and vIRQ/vFIQ of each CPU."""
        for c in range(self.num_cpus):
            self.gicd.set_input(INTID_MAINTENANCE, self.gich.maintenance(c), c)
        for c, out in enumerate(self.outputs):
            irq, fiq = self.gicc.signal(c)
            virq, vfiq = self.gich.virtual_signal(c)
            out.irq.set(irq)
            out.fiq.set(fiq)
            out.virq.set(virq)
            out.vfiq.set(vfiq)

    # --- life cycle ----------------------------------------------------------------------

    def reset(self) -> None:
        for frame in self.frames:
            frame.reset()
        for (intid, cpu), line in self._inputs.items():
            if line.level:
                self.gicd.set_input(intid, True, cpu)
        self._update()

    def state(self) -> dict[str, Any]:
        return {"num_cpus": self.num_cpus, "num_spis": self.num_spis,
                "gicd": self.gicd.state(), "gicc": self.gicc.state(),
                "gich": self.gich.state(), "gicv": self.gicv.state()}

    def from_state(self, state: dict[str, Any]) -> None:
        """Restore ``state()`` output into this (already wired) GIC."""
        if state.get("num_cpus", self.num_cpus) != self.num_cpus or \
                state.get("num_spis", self.num_spis) != self.num_spis:
            raise ValueError(f"GIC snapshot for {state.get('num_cpus')} CPUs and "
                             f"{state.get('num_spis')} SPIs, not {self.num_cpus} and {self.num_spis}")
        self.gicd.from_state(state.get("gicd", {}))
        self.gicc.from_state(state.get("gicc", {}))
        self.gich.from_state(state.get("gich", {}))
        self.gicv.from_state(state.get("gicv", {}))
        # Input lines remember their level so that they signal only changes; make them agree
        # with the restored input state without calling back into the GIC.
        for (intid, cpu), line in self._inputs.items():
            mask = self.gicd.priv_level[cpu] if intid < NUM_PRIVATE else self.gicd.spi_level
            line.level = bool(mask >> intid & 1)
        self._update()
