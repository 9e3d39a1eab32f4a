"""GICv2 with virtualization extensions (emu/devices/gicv2.py) against register-level
behaviour of Arm IHI 0048B, with the GIC alone: recording output lines, a settable current
CPU, a recording log."""

import json

import pytest

from emu.devices.gicv2 import (GICC_CTLR_ACKCTL, GICC_CTLR_CBPR, GICC_CTLR_ENABLE_GRP0,
                               GICC_CTLR_ENABLE_GRP1, GICC_CTLR_EOIMODE, GICC_CTLR_FIQEN,
                               GICH_HCR_EN, GICH_HCR_LRENPIE, GICH_HCR_NPIE, GICH_HCR_UIE,
                               GICH_HCR_VGRP0DIE, GICH_HCR_VGRP0EIE, GICH_LR_EOI, GICH_LR_GRP1,
                               GICH_LR_HW, GICH_MISR_EOI, GICH_MISR_LRENP, GICH_MISR_NP,
                               GICH_MISR_U, GICH_MISR_VGRP0D, GICH_MISR_VGRP0E, INTID_MAINTENANCE,
                               Gicv2)
from emu.devices.log import RecordingLog

# GICD
CTLR, TYPER, IIDR, IGROUPR = 0x000, 0x004, 0x008, 0x080
ISENABLER, ICENABLER, ISPENDR, ICPENDR = 0x100, 0x180, 0x200, 0x280
ISACTIVER, ICACTIVER, IPRIORITYR, ITARGETSR, ICFGR = 0x300, 0x380, 0x400, 0x800, 0xC00
SGIR, CPENDSGIR, SPENDSGIR = 0xF00, 0xF10, 0xF20
# GICC / GICV
C_CTLR, PMR, BPR, IAR, EOIR, RPR, HPPIR, ABPR = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C
APR0, NSAPR0, C_IIDR, DIR = 0xD0, 0xE0, 0xFC, 0x1000
# GICH
HCR, VTR, VMCR, MISR, EISR0, ELSR0, H_APR, LR0 = 0x00, 0x04, 0x08, 0x10, 0x20, 0x30, 0xF0, 0x100

SPI = 40


def lr(vid, prio=0, state=1, grp1=False, hw=False, pid=0, eoi=False, cpuid=0):
    """A list register value: state 1 pending, 2 active, 3 both; prio is 8-bit (top 5 kept)."""
    v = vid | (state << 28) | ((prio >> 3) << 23)
    v |= GICH_LR_GRP1 if grp1 else 0
    if hw:
        v |= GICH_LR_HW | (pid << 10)
    else:
        v |= (GICH_LR_EOI if eoi else 0) | (cpuid << 10)
    return v


class Gic:
    """A GIC with ``num_cpus`` CPUs; ``cpu`` is the CPU making the next MMIO access."""

    def __init__(self, num_cpus=1):
        self.cpu = 0
        self.log = RecordingLog()
        self.gic = Gicv2(num_cpus=num_cpus, num_spis=256, current_cpu=lambda: self.cpu, log=self.log)
        self.changes = []
        for c, out in enumerate(self.gic.outputs):
            for kind in ("irq", "fiq", "virq", "vfiq"):
                getattr(out, kind).connect(lambda level, c=c, k=kind: self.changes.append((c, k, level)))

    def d(self, off, size=4):
        return self.gic.gicd.read(off, size)

    def dw(self, off, value, size=4):
        self.gic.gicd.write(off, size, value)

    def c(self, off):
        return self.gic.gicc.read(off, 4)

    def cw(self, off, value):
        self.gic.gicc.write(off, 4, value)

    def h(self, off):
        return self.gic.gich.read(off, 4)

    def hw(self, off, value):
        self.gic.gich.write(off, 4, value)

    def v(self, off):
        return self.gic.gicv.read(off, 4)

    def vw(self, off, value):
        self.gic.gicv.write(off, 4, value)

    def line(self, kind, cpu=0):
        return getattr(self.gic.outputs[cpu], kind).level

    def enable_all(self, cpu=0, ctlr=GICC_CTLR_ENABLE_GRP0):
        """Distributor and CPU interface on, PMR fully open."""
        prev, self.cpu = self.cpu, cpu
        self.dw(CTLR, 3)
        self.cw(C_CTLR, ctlr)
        self.cw(PMR, 0xFF)
        self.cpu = prev

    def prio(self, intid, value):
        self.dw(IPRIORITYR + intid, value, size=1)

    def enable(self, intid):
        self.dw(ISENABLER + 4 * (intid // 32), 1 << (intid % 32))

    def pend(self, intid):
        self.dw(ISPENDR + 4 * (intid // 32), 1 << (intid % 32))

    def sgi_self(self, sgi):
        self.dw(SGIR, (2 << 24) | sgi)

    def virt_on(self, vmcr=0xF0000001):
        self.hw(HCR, GICH_HCR_EN)
        self.hw(VMCR, vmcr)


@pytest.fixture
def g():
    return Gic()


@pytest.fixture
def g2():
    return Gic(num_cpus=2)


# --- distributor: identification and reset -------------------------------------------------

def test_typer_iidr_and_id_registers_match_qemu_virt(g):
    assert g.d(TYPER) == 8          # ITLinesNumber 8: INTIDs 0-287, one CPU, no security
    assert g.d(IIDR) == 0x43B
    assert [g.d(0xFD0 + 4 * i) for i in range(4)] == [0x04, 0, 0, 0]
    assert [g.d(0xFE0 + 4 * i) for i in range(4)] == [0x90, 0xB4, 0x2B, 0]
    assert [g.d(0xFF0 + 4 * i) for i in range(4)] == [0x0D, 0xF0, 0x05, 0xB1]
    assert not g.log.entries


def test_typer_cpu_number(g2):
    assert g2.d(TYPER) == 8 | (1 << 5)


def test_constructor_rejects_bad_sizes():
    with pytest.raises(ValueError):
        Gicv2(num_cpus=9)
    with pytest.raises(ValueError):
        Gicv2(num_spis=100)


# --- enable, pending, active -------------------------------------------------------------------

def test_isenabler_sets_and_icenabler_clears_spi_bits(g):
    g.dw(ISENABLER + 4, 0x0000_0F00)
    g.dw(ISENABLER + 4, 0x0001_0000)
    assert g.d(ISENABLER + 4) == g.d(ICENABLER + 4) == 0x0001_0F00
    g.dw(ICENABLER + 4, 0x0000_0300)
    assert g.d(ISENABLER + 4) == 0x0001_0C00


def test_sgi_enable_bits_read_as_one_and_ignore_writes(g):
    assert g.d(ISENABLER) == 0xFFFF
    g.dw(ICENABLER, 0xFFFF_FFFF)
    assert g.d(ISENABLER) == 0xFFFF
    g.dw(ISENABLER, 0xFFFF_FFFF)
    assert g.d(ISENABLER) == 0xFFFF_FFFF


def test_words_beyond_itlinesnumber_are_raz_wi(g):
    g.dw(ISENABLER + 32, 0xFFFF_FFFF)
    assert g.d(ISENABLER + 32) == 0xFFFF_FFFF     # INTIDs 256-287 exist
    g.dw(ISENABLER + 36, 0xFFFF_FFFF)
    g.dw(IPRIORITYR + 288, 0xFFFF_FFFF)
    assert g.d(ISENABLER + 36) == 0 and g.d(IPRIORITYR + 288) == 0
    assert not g.log.guest_errors


def test_ispendr_sets_and_icpendr_clears_spi_pending(g):
    g.dw(ISPENDR + 4, 0x0000_0101)
    assert g.d(ISPENDR + 4) == g.d(ICPENDR + 4) == 0x101
    g.dw(ICPENDR + 4, 0x1)
    assert g.d(ISPENDR + 4) == 0x100


def test_ispendr_ignores_sgi_bits_and_sets_ppi_bits(g):
    g.dw(ISPENDR, 0xFFFF_FFFF)
    assert g.d(ISPENDR) == 0xFFFF_0000
    g.dw(ICPENDR, 0xFFFF_FFFF)
    assert g.d(ISPENDR) == 0


def test_isactiver_sets_and_icactiver_clears(g):
    g.dw(ISACTIVER, 0x0001_0002)
    g.dw(ISACTIVER + 4, 0x8000_0000)
    assert g.d(ISACTIVER) == 0x0001_0002 and g.d(ICACTIVER + 4) == 0x8000_0000
    g.dw(ICACTIVER, 0xFFFF_FFFF)
    assert g.d(ISACTIVER) == 0
    assert g.c(RPR) == 0xFF             # GICD_ISACTIVER does not touch the running priority


def test_igroupr_is_read_write_without_security_extensions(g):
    assert g.d(IGROUPR) == 0
    g.dw(IGROUPR, 0xFFFF_FFFF)
    g.dw(IGROUPR + 4, 0x5)
    assert g.d(IGROUPR) == 0xFFFF_FFFF and g.d(IGROUPR + 4) == 0x5


# --- priority, targets, configuration -----------------------------------------------------------

def test_ipriorityr_byte_writes_keep_the_other_bytes(g):
    g.dw(IPRIORITYR + SPI, 0x4030_2010)
    g.dw(IPRIORITYR + SPI + 2, 0xAA, size=1)
    assert g.d(IPRIORITYR + SPI) == 0x40AA_2010
    assert g.d(IPRIORITYR + SPI + 3, size=1) == 0x40
    g.prio(3, 0x80)
    g.prio(6, 0x40)
    assert g.d(IPRIORITYR) == 0x8000_0000 and g.d(IPRIORITYR + 4) == 0x0040_0000


def test_halfword_access_is_a_guest_error(g):
    g.dw(IPRIORITYR + SPI, 0xFFFF, size=2)
    assert g.d(IPRIORITYR + SPI) == 0
    assert g.d(ISENABLER + 4, size=1) == 0
    assert len(g.log.guest_errors) == 2


def test_itargetsr_is_raz_wi_on_a_uniprocessor(g):
    g.dw(ITARGETSR + 32, 0xFFFF_FFFF)
    assert g.d(ITARGETSR) == 0 and g.d(ITARGETSR + 32) == 0


def test_itargetsr_private_bytes_read_the_reading_cpu(g2):
    g2.cpu = 1
    assert g2.d(ITARGETSR) == 0x0202_0202
    g2.dw(ITARGETSR + 28, 0x0101_0101)          # read-only
    assert g2.d(ITARGETSR + 28) == 0x0202_0202
    g2.dw(ITARGETSR + SPI, 0xFF, size=1)
    assert g2.d(ITARGETSR + SPI) == 0x03        # bits of absent CPUs are RAZ/WI


def test_icfgr_sgis_are_edge_and_read_only(g):
    assert g.d(ICFGR) == 0xAAAA_AAAA
    g.dw(ICFGR, 0)
    assert g.d(ICFGR) == 0xAAAA_AAAA
    assert g.d(ICFGR + 4) == 0                  # PPIs: level at reset


def test_icfgr_stores_only_int_config_1(g):
    g.dw(ICFGR + 4, 0xFFFF_FFFF)
    g.dw(ICFGR + 8, 0x0000_000B)
    assert g.d(ICFGR + 4) == 0xAAAA_AAAA and g.d(ICFGR + 8) == 0xA


# --- inputs: level and edge --------------------------------------------------------------------

def test_level_input_is_pending_while_asserted(g):
    g.gic.set_irq(SPI, 1)
    assert g.d(ISPENDR + 4) == 1 << (SPI - 32)
    g.gic.set_irq(SPI, 0)
    assert g.d(ISPENDR + 4) == 0


def test_edge_input_latches_on_rising_edge(g):
    g.dw(ICFGR + 4 * (SPI // 16), 2 << (2 * (SPI % 16)))
    g.gic.input_line(SPI).pulse()
    assert g.d(ISPENDR + 4) == 1 << (SPI - 32)
    g.gic.set_irq(SPI, 1)                       # high again: a second edge, still one pending
    g.dw(ICPENDR + 4, 1 << (SPI - 32))
    assert g.d(ISPENDR + 4) == 0                # an edge latch clears even with the line high


def test_icpendr_does_not_clear_an_asserted_level_input(g):
    g.gic.set_irq(SPI, 1)
    g.dw(ICPENDR + 4, 1 << (SPI - 32))
    assert g.d(ISPENDR + 4) == 1 << (SPI - 32)


def test_level_interrupt_is_active_and_pending_after_ack_while_asserted(g):
    g.enable_all()
    g.enable(SPI)
    g.gic.set_irq(SPI, 1)
    assert g.c(IAR) == SPI
    assert g.d(ISACTIVER + 4) == g.d(ISPENDR + 4) == 1 << (SPI - 32)
    g.cw(EOIR, SPI)
    assert g.line("irq")                        # deactivated and still asserted: again
    g.gic.set_irq(SPI, 0)
    assert not g.line("irq") and g.c(IAR) == 1023


def test_edge_interrupt_is_not_pending_after_ack(g):
    g.enable_all()
    g.dw(ICFGR + 4 * (SPI // 16), 2 << (2 * (SPI % 16)))
    g.enable(SPI)
    g.gic.input_line(SPI).pulse()
    assert g.c(IAR) == SPI and g.d(ISPENDR + 4) == 0


def test_ppi_inputs_are_per_cpu(g2):
    g2.gic.set_irq(27, 1, cpu=1)
    assert g2.d(ISPENDR) == 0
    g2.cpu = 1
    assert g2.d(ISPENDR) == 1 << 27


def test_set_irq_rejects_sgis_missing_cpu_and_absent_intids(g):
    for args in ((3, 1), (27, 1), (288, 1), (27, 1, 1)):
        with pytest.raises(ValueError):
            g.gic.set_irq(*args)


def test_input_line_is_one_object_per_input(g):
    line = g.gic.input_line(SPI)
    assert g.gic.input_line(SPI) is line and g.gic.input_line(27, 0) is not line
    line.raise_()
    assert g.d(ISPENDR + 4) == 1 << (SPI - 32)


# --- CPU interface: acknowledge, priority, EOI ---------------------------------------------------

def test_cpu_interface_reset_values(g):
    assert [g.c(o) for o in (C_CTLR, PMR, BPR, ABPR, RPR, HPPIR, C_IIDR)] == \
        [0, 0, 0, 1, 0xFF, 1023, 0x0002_043B]


def test_iar_is_spurious_with_nothing_pending(g):
    g.enable_all()
    assert g.c(IAR) == 1023 and g.c(HPPIR) == 1023


def test_iar_is_spurious_with_the_cpu_interface_disabled(g):
    g.enable_all(ctlr=0)
    g.sgi_self(1)
    assert g.c(IAR) == 1023 and g.c(HPPIR) == 1023
    assert not g.line("irq")


def test_gicd_ctlr_group_enable_gates_forwarding(g):
    g.enable_all()
    g.sgi_self(1)
    g.dw(CTLR, 2)                                # Group 0 forwarding off
    assert g.c(HPPIR) == 1023 and not g.line("irq")
    g.dw(CTLR, 1)
    assert g.c(HPPIR) == 1 and g.line("irq")


def test_iar_eoir_flow_and_running_priority(g):
    g.enable_all()
    g.prio(3, 0x80)
    g.prio(6, 0x40)
    g.sgi_self(3)
    g.sgi_self(6)
    assert g.line("irq") and g.c(HPPIR) == 6
    assert g.c(IAR) == 6 and g.c(RPR) == 0x40
    assert not g.line("irq")                    # 0x80 cannot preempt 0x40
    assert g.c(HPPIR) == 3 and g.c(IAR) == 1023
    g.cw(EOIR, 6)
    assert g.c(RPR) == 0xFF and g.line("irq")
    assert g.c(IAR) == 3 and g.c(RPR) == 0x80
    g.cw(EOIR, 3)
    assert g.c(RPR) == 0xFF and g.d(ISACTIVER) == 0 and g.c(IAR) == 1023


def test_pmr_masks_priorities_equal_or_lower(g):
    g.enable_all()
    g.cw(PMR, 0x40)
    g.prio(2, 0x40)
    g.sgi_self(2)
    assert g.c(HPPIR) == 1023 and g.c(IAR) == 1023 and not g.line("irq")
    g.cw(PMR, 0x41)
    assert g.line("irq") and g.c(HPPIR) == 2 and g.c(IAR) == 2


def test_preemption_compares_group_priority_from_bpr(g):
    g.enable_all()
    g.prio(8, 0x50)
    g.prio(9, 0x48)
    g.cw(BPR, 4)                                # group priority [7:5]: 0x40 for both
    g.sgi_self(8)
    assert g.c(IAR) == 8 and g.c(RPR) == 0x40
    g.sgi_self(9)
    assert not g.line("irq") and g.c(HPPIR) == 9 and g.c(IAR) == 1023
    g.cw(EOIR, 8)
    assert g.c(IAR) == 9
    g.cw(EOIR, 9)
    g.cw(BPR, 2)                                # group priority [7:3]: 0x48 < 0x50
    g.sgi_self(8)
    assert g.c(IAR) == 8 and g.c(RPR) == 0x50
    g.sgi_self(9)
    assert g.line("irq") and g.c(IAR) == 9 and g.c(RPR) == 0x48
    g.cw(EOIR, 9)
    assert g.c(RPR) == 0x50
    g.cw(EOIR, 8)
    assert g.c(RPR) == 0xFF


def test_running_priority_is_the_group_priority(g):
    g.enable_all()
    g.cw(BPR, 3)                                # group priority [7:4]
    g.prio(1, 0x5C)
    g.sgi_self(1)
    assert g.c(IAR) == 1 and g.c(RPR) == 0x50


def test_bpr_and_abpr_writes_below_minimum_read_as_minimum(g):
    g.cw(BPR, 0)
    g.cw(ABPR, 0)
    assert g.c(BPR) == 0 and g.c(ABPR) == 1
    g.cw(ABPR, 0xFF)
    assert g.c(ABPR) == 7


def test_active_priorities_show_in_apr_and_nsapr(g):
    g.enable_all(ctlr=GICC_CTLR_ENABLE_GRP0 | GICC_CTLR_ENABLE_GRP1 | GICC_CTLR_ACKCTL)
    g.dw(IGROUPR, 1 << 2)
    g.prio(1, 0x50)
    g.prio(2, 0x20)
    g.sgi_self(1)
    assert g.c(IAR) == 1
    assert g.c(APR0 + 4) == 1 << (0x50 // 2 - 32)   # bit = group priority >> 1
    g.sgi_self(2)
    assert g.c(IAR) == 2 and g.c(NSAPR0) == 1 << (0x20 // 2)
    assert g.c(RPR) == 0x20
    g.cw(EOIR, 2)
    assert g.c(NSAPR0) == 0 and g.c(RPR) == 0x50


def test_group1_needs_ackctl_else_1022(g):
    g.enable_all(ctlr=GICC_CTLR_ENABLE_GRP0 | GICC_CTLR_ENABLE_GRP1)
    g.dw(IGROUPR, 1 << 2)
    g.sgi_self(2)
    assert g.c(HPPIR) == 1022 and g.c(IAR) == 1022
    assert g.line("irq")                        # signalled all the same
    g.cw(C_CTLR, GICC_CTLR_ENABLE_GRP0 | GICC_CTLR_ENABLE_GRP1 | GICC_CTLR_ACKCTL)
    assert g.c(IAR) == 2


def test_group1_uses_abpr_unless_cbpr(g):
    g.enable_all(ctlr=GICC_CTLR_ENABLE_GRP1 | GICC_CTLR_ACKCTL)
    g.dw(IGROUPR, 0xF)
    g.prio(1, 0x5C)
    g.cw(ABPR, 4)                               # group priority [7:4]
    g.sgi_self(1)
    assert g.c(IAR) == 1 and g.c(RPR) == 0x50
    g.cw(EOIR, 1)
    g.cw(C_CTLR, GICC_CTLR_ENABLE_GRP1 | GICC_CTLR_ACKCTL | GICC_CTLR_CBPR)
    g.cw(BPR, 4)                                # with CBPR: BPR's [7:5]
    g.sgi_self(1)
    assert g.c(IAR) == 1 and g.c(RPR) == 0x40


def test_fiqen_sends_group0_to_fiq_and_group1_to_irq(g):
    both = GICC_CTLR_ENABLE_GRP0 | GICC_CTLR_ENABLE_GRP1 | GICC_CTLR_ACKCTL
    g.enable_all(ctlr=both | GICC_CTLR_FIQEN)
    g.sgi_self(1)
    assert g.line("fiq") and not g.line("irq")
    g.dw(IGROUPR, 1 << 1)
    assert g.line("irq") and not g.line("fiq")
    g.cw(C_CTLR, GICC_CTLR_ENABLE_GRP0 | GICC_CTLR_FIQEN)
    assert not g.line("irq") and not g.line("fiq")  # Group 1 disabled at the interface


def test_eoimode_splits_priority_drop_and_deactivation(g):
    g.enable_all(ctlr=GICC_CTLR_ENABLE_GRP0 | GICC_CTLR_EOIMODE)
    g.sgi_self(1)
    assert g.c(IAR) == 1
    g.cw(EOIR, 1)
    assert g.c(RPR) == 0xFF and g.d(ISACTIVER) == 0x2
    g.cw(DIR, 1)
    assert g.d(ISACTIVER) == 0


def test_dir_without_eoimode_is_ignored(g):
    g.enable_all()
    g.sgi_self(1)
    assert g.c(IAR) == 1
    g.cw(DIR, 1)
    assert g.d(ISACTIVER) == 0x2 and g.log.guest_errors


def test_eoir_of_spurious_id_is_ignored(g):
    g.enable_all()
    g.sgi_self(1)
    assert g.c(IAR) == 1
    g.cw(EOIR, 1023)
    assert g.c(RPR) == 0 and g.d(ISACTIVER) == 0x2


def test_irq_line_changes_only_on_edges(g):
    g.enable_all()
    g.sgi_self(1)
    g.sgi_self(1)
    assert g.changes == [(0, "irq", True)]
    g.c(IAR)
    assert g.changes[-1] == (0, "irq", False)


# --- SGIs ------------------------------------------------------------------------------------------

def test_sgir_target_list_filter_and_source_cpu(g2):
    g2.cpu = 1
    g2.dw(SGIR, (0 << 24) | (0x1 << 16) | 5)     # list: CPU 0
    g2.dw(SGIR, (1 << 24) | 6)                   # all but self: CPU 0
    g2.dw(SGIR, (2 << 24) | 7)                   # self: CPU 1
    g2.dw(SGIR, (3 << 24) | 8)                   # reserved: ignored
    assert g2.d(ISPENDR) == 1 << 7 and g2.d(SPENDSGIR + 4) == 0x0200_0000
    g2.cpu = 0
    assert g2.d(ISPENDR) == (1 << 5) | (1 << 6)
    assert g2.d(SPENDSGIR + 4) == 0x0002_0200     # SGI 5 and 6 from CPU 1
    g2.enable_all(cpu=0)
    assert g2.c(IAR) == 5 | (1 << 10)            # CPUID bits [12:10] = source
    assert g2.log.guest_errors                   # the reserved filter


def test_sgi_pending_from_two_sources_is_acknowledged_once_each(g2):
    g2.enable_all(cpu=0)
    for src in (0, 1):
        g2.cpu = src
        g2.dw(SGIR, (1 << 16) | 4)
    g2.cpu = 0
    assert g2.d(SPENDSGIR + 4) == 0x3
    assert g2.c(IAR) == 4
    assert g2.d(SPENDSGIR + 4) == 0x2 and g2.d(ISPENDR) == 1 << 4  # active and pending
    g2.cw(EOIR, 4)
    assert g2.c(IAR) == 4 | (1 << 10)


def test_spendsgir_and_cpendsgir_byte_access(g):
    g.dw(SPENDSGIR + 9, 0x1, size=1)
    g.dw(SPENDSGIR + 10, 0xFF, size=1)           # only implemented CPU bits
    assert g.d(SPENDSGIR + 8) == 0x0001_0100 and g.d(ISPENDR) == 0x600
    g.dw(CPENDSGIR + 8, 0x0000_0100)
    assert g.d(SPENDSGIR + 8) == 0x0001_0000 and g.d(ISPENDR) == 0x400


# --- SPI routing between CPUs ------------------------------------------------------------------------

def test_itargetsr_routes_spis_between_two_cpus(g2):
    for cpu in (0, 1):
        g2.enable_all(cpu=cpu)
    g2.enable(SPI)
    g2.dw(ITARGETSR + SPI, 0x2, size=1)
    g2.gic.set_irq(SPI, 1)
    assert not g2.line("irq", 0) and g2.line("irq", 1)
    g2.dw(ITARGETSR + SPI, 0x1, size=1)
    assert g2.line("irq", 0) and not g2.line("irq", 1)


def test_spi_targeting_both_cpus_goes_to_the_first_to_acknowledge(g2):
    for cpu in (0, 1):
        g2.enable_all(cpu=cpu)
    g2.enable(SPI)
    g2.dw(ITARGETSR + SPI, 0x3, size=1)
    g2.pend(SPI)
    assert g2.line("irq", 0) and g2.line("irq", 1)
    g2.cpu = 1
    assert g2.c(IAR) == SPI
    assert not g2.line("irq", 0) and not g2.line("irq", 1)
    g2.cpu = 0
    assert g2.c(IAR) == 1023


def test_cpu_interfaces_are_banked(g2):
    g2.cw(PMR, 0x80)
    g2.cpu = 1
    assert g2.c(PMR) == 0
    g2.cw(PMR, 0x10)
    g2.cpu = 0
    assert g2.c(PMR) == 0x80


# --- virtual interface control (GICH) ----------------------------------------------------------

def test_gich_reset_values_match_qemu(g):
    assert g.h(HCR) == 0 and g.h(VTR) == 0x9000_0003 and g.h(VMCR) == 0x004C_0000
    assert g.h(MISR) == 0 and g.h(ELSR0) == 0xF and g.h(EISR0) == 0 and g.h(H_APR) == 0


def test_list_register_and_hcr_reserved_bits(g):
    g.hw(LR0, 0xFFFF_FFFF)
    g.hw(HCR, 0xFFFF_FFFF)
    g.hw(VMCR, 0xFFFF_FFFF)
    assert g.h(LR0) == 0xFF8F_FFFF and g.h(HCR) == 0xF800_00FF and g.h(VMCR) == 0xF8FC_021F


def test_vmcr_binary_points_clamp_to_the_minimum(g):
    g.hw(VMCR, 0)
    assert g.h(VMCR) == 0x004C_0000
    assert g.v(BPR) == 2 and g.v(ABPR) == 3


def test_vmcr_aliases_gicv_ctlr_pmr_bpr_abpr(g):
    g.hw(VMCR, 0xF000_0203 | (4 << 21) | (5 << 18))
    assert g.v(C_CTLR) == 0x203 and g.v(PMR) == 0xF0 and g.v(BPR) == 4 and g.v(ABPR) == 5
    g.vw(PMR, 0x7F)
    g.vw(BPR, 5)
    g.vw(ABPR, 6)
    g.vw(C_CTLR, 0xFFFF_FFFF)
    assert g.h(VMCR) == (0xF << 27) | (5 << 21) | (6 << 18) | 0x21F
    assert g.v(PMR) == 0x78


def test_pending_list_register_raises_virq(g):
    g.virt_on()
    g.hw(LR0, lr(0x27, prio=0x08))
    assert g.line("virq") and not g.line("irq")
    assert g.h(ELSR0) == 0xE


def test_virq_needs_hcr_en_and_a_gicv_group_enable(g):
    g.hw(LR0, lr(0x27))
    g.hw(VMCR, 0xF000_0001)
    assert not g.line("virq") and g.v(IAR) == 1023      # GICH_HCR.En = 0
    g.hw(HCR, GICH_HCR_EN)
    assert g.line("virq")
    g.vw(C_CTLR, 0)
    assert not g.line("virq") and g.v(HPPIR) == 1023


def test_vmfiqen_sends_virtual_group0_to_vfiq(g):
    g.virt_on(vmcr=0xF000_0009)
    g.hw(LR0, lr(0x27))
    assert g.line("vfiq") and not g.line("virq")
    g.hw(LR0, lr(0x27, grp1=True))
    g.vw(C_CTLR, 0xB)
    assert g.line("virq") and not g.line("vfiq")


def test_gicv_iar_eoir_flow(g):
    g.virt_on()
    g.hw(LR0, lr(0x27, prio=0x08))
    g.hw(LR0 + 4, lr(0x28, prio=0x00))
    assert g.v(HPPIR) == 0x28
    assert g.v(IAR) == 0x28 and g.v(RPR) == 0
    assert g.h(LR0 + 4) == lr(0x28, state=2) and g.h(H_APR) == 1 and g.v(APR0) == 1
    assert g.v(IAR) == 1023 and g.v(HPPIR) == 0x27 and not g.line("virq")
    g.vw(EOIR, 0x28)
    assert g.h(LR0 + 4) == lr(0x28, state=0) and g.v(RPR) == 0xFF and g.line("virq")
    assert g.v(IAR) == 0x27 and g.v(RPR) == 0x08


def test_gicv_primask_masks_list_registers(g):
    g.virt_on(vmcr=0x0800_0001)                  # PriMask 0x08
    g.hw(LR0, lr(0x27, prio=0x08))
    assert g.v(HPPIR) == 1023 and g.v(IAR) == 1023 and not g.line("virq")
    g.vw(PMR, 0x10)
    assert g.line("virq") and g.v(IAR) == 0x27


def test_virtual_group1_needs_vmackctl(g):
    g.virt_on(vmcr=0xF000_0002)
    g.hw(LR0, lr(0x28, grp1=True))
    assert g.v(HPPIR) == 1022 and g.v(IAR) == 1022 and g.line("virq")
    g.vw(C_CTLR, 0x6)
    assert g.v(IAR) == 0x28


def test_virtual_sgi_reports_its_cpuid(g):
    g.virt_on()
    g.hw(LR0, lr(3, cpuid=2))
    assert g.v(IAR) == 3 | (2 << 10)
    g.vw(EOIR, 3 | (2 << 10))
    assert g.h(LR0) & (3 << 28) == 0


def test_gicv_eoir_with_hw_deactivates_the_physical_interrupt(g):
    g.enable_all(ctlr=GICC_CTLR_ENABLE_GRP0 | GICC_CTLR_EOIMODE)
    g.enable(SPI)
    g.pend(SPI)
    assert g.c(IAR) == SPI
    g.cw(EOIR, SPI)                              # priority drop only
    assert g.d(ISACTIVER + 4) == 1 << (SPI - 32)
    g.virt_on()
    g.hw(LR0, lr(0x2A, hw=True, pid=SPI))
    assert g.v(IAR) == 0x2A and g.h(LR0) == lr(0x2A, state=2, hw=True, pid=SPI)
    g.vw(EOIR, 0x2A)
    assert g.h(LR0) == lr(0x2A, state=0, hw=True, pid=SPI)
    assert g.d(ISACTIVER + 4) == 0
    assert g.h(ELSR0) == 0xF and g.h(EISR0) == 0  # HW=1: empty, no maintenance


def test_gicv_eoimode_splits_drop_and_dir(g):
    g.virt_on(vmcr=0xF000_0201)
    g.hw(LR0, lr(0x27))
    assert g.v(IAR) == 0x27
    g.vw(EOIR, 0x27)
    assert g.h(H_APR) == 0 and g.h(LR0) == lr(0x27, state=2)
    g.vw(DIR, 0x27)
    assert g.h(LR0) == lr(0x27, state=0)


def test_eoicount_counts_deactivations_without_a_list_register(g):
    g.virt_on(vmcr=0xF000_0201)
    g.vw(DIR, 0x33)
    g.vw(DIR, 0x33)
    assert g.h(HCR) >> 27 == 2
    g.hw(HCR, GICH_HCR_EN | GICH_HCR_LRENPIE | (1 << 27))
    assert g.h(MISR) == GICH_MISR_LRENP


def test_gicv_eoir_with_nothing_active_does_not_count(g):
    g.virt_on()
    g.hw(LR0, lr(0x27))
    g.vw(EOIR, 0x29)
    assert g.h(HCR) == GICH_HCR_EN and g.h(LR0) == lr(0x27)


def test_eoi_maintenance_interrupt_for_lr_with_eoi_bit(g):
    g.enable_all()
    g.enable(INTID_MAINTENANCE)
    g.virt_on()
    g.hw(LR0, lr(0x28, eoi=True))
    assert g.h(EISR0) == 0 and g.h(MISR) == 0 and not g.line("irq")
    assert g.v(IAR) == 0x28
    g.vw(EOIR, 0x28)
    assert g.h(EISR0) == 1 and g.h(ELSR0) == 0xE and g.h(MISR) == GICH_MISR_EOI
    assert g.line("irq") and g.c(IAR) == INTID_MAINTENANCE
    g.hw(LR0, 0)                                 # the hypervisor consumes the list register
    assert g.h(MISR) == 0 and g.d(ISPENDR) & (1 << INTID_MAINTENANCE) == 0


def test_underflow_maintenance_with_uie(g):
    g.virt_on()
    g.hw(LR0, lr(0x20))
    g.hw(LR0 + 4, lr(0x21))
    g.hw(HCR, GICH_HCR_EN | GICH_HCR_UIE)
    assert g.h(MISR) == 0                        # two valid list registers
    g.hw(LR0 + 4, 0)
    assert g.h(MISR) == GICH_MISR_U
    assert g.d(ISPENDR) & (1 << INTID_MAINTENANCE)
    g.hw(HCR, GICH_HCR_UIE)                      # En = 0: MISR stays, the line drops
    assert g.h(MISR) == GICH_MISR_U and not g.d(ISPENDR) & (1 << INTID_MAINTENANCE)


def test_no_pending_maintenance_with_npie(g):
    g.hw(HCR, GICH_HCR_EN | GICH_HCR_NPIE)
    assert g.h(MISR) == GICH_MISR_NP
    g.hw(LR0, lr(0x20))
    assert g.h(MISR) == 0
    g.hw(LR0, lr(0x20, state=2))
    assert g.h(MISR) == GICH_MISR_NP


def test_group_enable_maintenance_bits(g):
    g.hw(HCR, GICH_HCR_EN | GICH_HCR_VGRP0EIE | GICH_HCR_VGRP0DIE)
    assert g.h(MISR) == GICH_MISR_VGRP0D
    g.vw(C_CTLR, 1)
    assert g.h(MISR) == GICH_MISR_VGRP0E


def test_elsr_and_eisr_by_state_hw_and_eoi(g):
    g.hw(LR0, lr(0x20, state=0, eoi=True))          # waiting for maintenance: not empty
    g.hw(LR0 + 4, lr(0x21, state=0, hw=True, pid=SPI))  # HW: empty
    g.hw(LR0 + 8, lr(0x22, state=3))                # pending and active: not empty
    assert g.h(ELSR0) == 0b1010 and g.h(EISR0) == 0b0001
    assert g.h(ELSR0 + 4) == 0 and g.h(EISR0 + 4) == 0


def test_gicv_apr0_is_gich_apr(g):
    g.vw(APR0, 0x12)
    assert g.h(H_APR) == 0x12 and g.v(RPR) == 0x08
    g.vw(APR0 + 4, 0xFF)
    assert g.v(APR0 + 4) == 0 and g.v(NSAPR0) == 0


def test_gich_and_gicv_are_banked_per_cpu(g2):
    g2.virt_on()
    g2.hw(LR0, lr(0x27))
    assert g2.line("virq", 0) and not g2.line("virq", 1)
    g2.cpu = 1
    assert g2.h(LR0) == 0 and g2.h(HCR) == 0 and g2.v(IAR) == 1023
    g2.cpu = 0
    assert g2.v(IAR) == 0x27


# --- snapshots and reset -----------------------------------------------------------------------------

def test_state_round_trip_through_json(g2):
    for cpu in (0, 1):
        g2.enable_all(cpu=cpu)
    g2.enable(SPI)
    g2.dw(ITARGETSR + SPI, 0x2, size=1)
    g2.gic.input_line(SPI).raise_()
    g2.prio(5, 0x30)
    g2.sgi_self(5)
    assert g2.c(IAR) == 5
    g2.sgi_self(5)
    g2.gic.set_irq(27, 1, cpu=1)
    g2.virt_on()
    g2.hw(LR0, lr(0x27, eoi=True))
    snap = json.loads(json.dumps(g2.gic.state()))

    other = Gic(num_cpus=2)
    line = other.gic.input_line(SPI)
    other.gic.from_state(snap)
    assert other.gic.state() == snap
    assert line.level                            # the input line agrees with the state
    assert [(o.irq.level, o.virq.level) for o in other.gic.outputs] == \
        [(o.irq.level, o.virq.level) for o in g2.gic.outputs] == [(False, True), (True, False)]
    other.cpu = 0
    assert other.c(RPR) == 0x30 and other.d(SPENDSGIR + 4) == 0x100
    other.cw(EOIR, 5)
    assert other.c(IAR) == 5


def test_from_state_rejects_another_geometry(g):
    with pytest.raises(ValueError):
        Gicv2(num_cpus=2).from_state(g.gic.state())


def test_reset_clears_state_but_keeps_asserted_inputs(g):
    g.enable_all()
    g.enable(SPI)
    g.gic.input_line(SPI).raise_()
    g.hw(LR0, lr(0x27))
    assert g.line("irq")
    g.gic.reset()
    assert not g.line("irq") and g.h(LR0) == 0 and g.d(ISENABLER + 4) == 0
    assert g.d(ISPENDR + 4) == 1 << (SPI - 32)
