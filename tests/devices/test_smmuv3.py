"""SMMUv3, the stage-2 subset (emu/devices/smmuv3.py), register by register and command by command,
against Arm IHI 0070: stream tables, the stage-2 walk, the caches hardware keeps (STEs until
CFGI, translations until TLBI), the queues and their errors."""

from __future__ import annotations

import struct

import pytest

from emu.devices.irq import IrqLine
from emu.devices.log import RecordingLog
from emu.devices.smmuv3 import (C_BAD_STE, C_BAD_STREAMID, F_ACCESS, F_PERMISSION, F_STE_FETCH, F_TRANSLATION,
                                F_WALK_EABT, Smmuv3)
from emu.mem.dma import DmaFault

from dmamem import FlatMemory

IDR0, IDR1, IDR5, CR0, CR0ACK, GBPA = 0x00, 0x04, 0x14, 0x20, 0x24, 0x44
IRQ_CTRL, IRQ_CTRL_ACK, GERROR, GERRORN = 0x50, 0x54, 0x60, 0x64
STRTAB_BASE, STRTAB_BASE_CFG = 0x80, 0x88
CMDQ_BASE, CMDQ_PROD, CMDQ_CONS = 0x90, 0x98, 0x9C
EVENTQ_BASE, EVENTQ_PROD, EVENTQ_CONS = 0xA0, 0xA8, 0xAC

STRTAB, CMDQ, EVENTQ, L1_TABLE, L2_TABLE = 0x1000, 0x2000, 0x3000, 0x10000, 0x11000
IPA, PA = 0x4000_0000, 0x80_0000
VMID = 7
# VTCR as the STE holds it: T0SZ 32, SL0 1 (start at level 1), TG 4 KiB, PS 40 bits.
VTCR = 32 | 1 << 6 | 2 << 16
BLOCK_RW = 1 | 0xF << 2 | 3 << 6 | 3 << 8 | 1 << 10       # block, Normal WB, S2AP RW, inner shareable, AF


def Memory():
    """16 MiB of RAM from 0 as the SMMU's physical port."""
    return FlatMemory(16 << 20)


def ste(config=0b110, vmid=VMID, s2ttb=L1_TABLE, s2r=True, valid=True, vtcr=VTCR, aa64=True):
    dw = [int(valid) | config << 1, 0, vmid | vtcr << 32 | int(aa64) << 51 | int(s2r) << 58, s2ttb, 0, 0, 0, 0]
    return struct.pack("<8Q", *dw)


class Rig:
    def __init__(self):
        self.memory = Memory()
        self.pulses = {"eventq": 0, "cmd_sync": 0, "gerror": 0}
        lines = {k: IrqLine(lambda level, k=k: self.pulses.__setitem__(k, self.pulses[k] + bool(level)), k)
                 for k in self.pulses}
        self.log = RecordingLog()
        self.smmu = Smmuv3(self.memory, lines["eventq"], lines["cmd_sync"], lines["gerror"], log=self.log)
        self.cmd_index = 0
        # Stage 2 of VMID 7: IPA 0x4000_0000 (2 MiB) -> PA 0x80_0000.
        self.memory.q(L1_TABLE + 8 * (IPA >> 30), L2_TABLE | 3)
        self.memory.q(L2_TABLE + 8 * ((IPA >> 21) & 0x1FF), PA | BLOCK_RW)
        self.set_ste(5, ste())

    def set_ste(self, sid, raw):
        self.memory.write(STRTAB + 64 * sid, raw)

    def w(self, off, value, size=4):
        self.smmu.write(off, size, value)

    def r(self, off, size=4):
        return self.smmu.read(off, size)

    def enable(self, irqs=0b101):
        self.w(STRTAB_BASE, STRTAB, 8)
        self.w(STRTAB_BASE_CFG, 4)                       # linear, 16 STEs
        self.w(CMDQ_BASE, CMDQ | 4, 8)                   # 16 commands
        self.w(EVENTQ_BASE, EVENTQ | 2, 8)               # 4 events
        self.w(IRQ_CTRL, irqs)
        self.w(CR0, 0b1101)                              # SMMUEN, EVENTQEN, CMDQEN

    def command(self, w0, w1=0, w2=0, w3=0):
        self.memory.write(CMDQ + 16 * (self.cmd_index % 16), struct.pack("<4I", w0, w1, w2, w3))
        self.cmd_index += 1
        self.w(CMDQ_PROD, self.cmd_index & 0x1F)

    def events(self):
        prod = self.r(EVENTQ_PROD)
        out = []
        for i in range(prod & 3 if prod & 4 == 0 else 4):
            words = struct.unpack("<8I", self.memory.read(EVENTQ + 32 * i, 32))
            out.append({"type": words[0] & 0xFF, "sid": words[1], "rnw": words[3] >> 3 & 1, "s2": words[3] >> 7 & 1,
                        "addr": words[4] | words[5] << 32, "addr2": words[6] | words[7] << 32})
        return out


@pytest.fixture
def rig():
    return Rig()


def test_id_registers_say_stage_2_only_aarch64_tables_vmid16_and_two_level_stream_tables(rig):
    idr0 = rig.r(IDR0)
    assert idr0 & 1 and not idr0 & 2                    # S2P, no S1P
    assert idr0 >> 2 & 3 == 2 and idr0 >> 18 & 1 and idr0 >> 27 & 3 == 1
    assert rig.r(IDR1) & 0x3F == 16                      # 16-bit StreamIDs
    assert rig.r(IDR5) >> 4 & 1 and rig.r(IDR5) & 7 == 0b100
    rig.w(IDR0, 0)
    assert rig.r(IDR0) == idr0 and rig.log.entries


def test_cr0ack_and_irq_ctrl_ack_follow_their_registers_at_once(rig):
    rig.w(CR0, 0b1100)
    assert rig.r(CR0ACK) == 0b1100
    rig.w(IRQ_CTRL, 0b101)
    assert rig.r(IRQ_CTRL_ACK) == 0b101


def test_a_disabled_smmu_aborts_by_gbpa_until_update_writes_bypass(rig):
    stream = rig.smmu.stream(5)
    with pytest.raises(DmaFault, match="GBPA.ABORT"):
        stream.read(0x100, 4)
    rig.w(GBPA, 0)                                       # no UPDATE: nothing changes
    assert rig.r(GBPA) == 1 << 20
    rig.w(GBPA, 1 << 31)                                 # UPDATE, ABORT clear
    assert rig.r(GBPA) == 0                              # UPDATE completed
    rig.memory.write(0x100, b"bypass")
    assert stream.read(0x100, 6) == b"bypass"


def test_a_stage_2_stream_reads_and_writes_its_vm_s_memory_through_the_tables(rig):
    rig.enable()
    stream = rig.smmu.stream(5)
    stream.write(IPA + 0x1234, b"through stage 2")
    assert rig.memory.read(PA + 0x1234, 15) == b"through stage 2"
    assert stream.read(IPA + 0x1234, 15) == b"through stage 2"
    assert rig.events() == []


def test_an_unmapped_ipa_is_refused_whole_and_reported_as_f_translation(rig):
    rig.enable()
    stream = rig.smmu.stream(5)
    # Spans the last mapped page and the first unmapped one: nothing at all is written.
    with pytest.raises(DmaFault):
        stream.write(IPA + 0x1F_FFFC, b"12345678")
    assert rig.memory.read(PA + 0x1F_FFFC, 4) == bytes(4)
    [event] = rig.events()
    assert event == {"type": F_TRANSLATION, "sid": 5, "rnw": 0, "s2": 1, "addr": IPA + 0x20_0000,
                     "addr2": IPA + 0x20_0000}
    assert rig.pulses["eventq"] == 1
    with pytest.raises(DmaFault):
        stream.read(0x1000_0000, 4)
    assert rig.events()[1]["type"] == F_TRANSLATION and rig.events()[1]["rnw"] == 1


def test_a_read_only_page_refuses_writes_with_f_permission(rig):
    rig.memory.q(L2_TABLE + 8 * ((IPA >> 21) & 0x1FF), PA | (BLOCK_RW & ~(2 << 6)))   # S2AP read only
    rig.enable()
    stream = rig.smmu.stream(5)
    assert stream.read(IPA, 4) == bytes(4)
    with pytest.raises(DmaFault, match="permission"):
        stream.write(IPA, b"nope")
    assert rig.events()[-1]["type"] == F_PERMISSION


def test_an_access_flag_clear_is_f_access_and_a_table_outside_memory_f_walk_eabt(rig):
    rig.memory.q(L2_TABLE + 8 * ((IPA >> 21) & 0x1FF), PA | (BLOCK_RW & ~(1 << 10)))
    rig.set_ste(6, ste(vmid=8, s2ttb=0x7000_0000))       # tables beyond memory
    rig.enable()
    with pytest.raises(DmaFault):
        rig.smmu.stream(5).read(IPA, 4)
    with pytest.raises(DmaFault):
        rig.smmu.stream(6).read(IPA, 4)
    assert [e["type"] for e in rig.events()] == [F_ACCESS, F_WALK_EABT]


def test_s2r_clear_refuses_without_an_event(rig):
    rig.set_ste(5, ste(s2r=False))
    rig.enable()
    with pytest.raises(DmaFault):
        rig.smmu.stream(5).read(0x1000_0000, 4)
    assert rig.events() == [] and rig.pulses["eventq"] == 0


def test_bad_stes_and_stream_ids_are_reported(rig):
    rig.set_ste(1, ste(valid=False))
    rig.set_ste(2, ste(config=0b101))                    # stage 1: not supported
    rig.set_ste(3, ste(config=0b000))                    # abort: no event
    rig.enable()
    for sid in (1, 2, 3, 16):
        with pytest.raises(DmaFault):
            rig.smmu.stream(sid).read(IPA, 4)
    assert [(e["type"], e["sid"]) for e in rig.events()] == [(C_BAD_STE, 1), (C_BAD_STE, 2), (C_BAD_STREAMID, 16)]


def test_an_ste_change_takes_effect_only_after_cfgi_ste(rig):
    rig.enable()
    stream = rig.smmu.stream(5)
    stream.read(IPA, 4)
    rig.set_ste(5, ste(config=0b000))                    # now abort, in memory only
    stream.read(IPA, 4)                                  # the cached STE still translates
    rig.command(0x03, 5)                                 # CFGI_STE 5
    with pytest.raises(DmaFault, match="aborts"):
        stream.read(IPA, 4)
    rig.set_ste(5, ste())
    rig.command(0x04, 0, 31)                             # CFGI_ALL (STE_RANGE 31)
    assert stream.read(IPA, 4) == bytes(4)


def test_a_translation_lives_until_tlbi_and_only_its_vmid_s_tlbi_drops_it(rig):
    rig.enable()
    stream = rig.smmu.stream(5)
    rig.memory.write(PA, b"old!")
    assert stream.read(IPA, 4) == b"old!"
    rig.memory.q(L2_TABLE + 8 * ((IPA >> 21) & 0x1FF), 0x60_0000 | BLOCK_RW)   # remapped in memory
    rig.memory.write(0x60_0000, b"new!")
    assert stream.read(IPA, 4) == b"old!"                # stale, as hardware keeps it
    rig.command(0x28, VMID + 1)                          # TLBI_S12_VMALL of another VMID
    assert stream.read(IPA, 4) == b"old!"
    rig.command(0x2A, VMID, 0, 0)                        # TLBI_S2_IPA of another page
    assert stream.read(IPA, 4) == b"old!"
    rig.command(0x2A, VMID, IPA & 0xFFFF_F000, IPA >> 32)
    assert stream.read(IPA, 4) == b"new!"
    walks = rig.smmu.walks
    stream.read(IPA + 8, 4)
    assert rig.smmu.walks == walks                       # an IOTLB hit
    rig.command(0x30)                                    # TLBI_NSNH_ALL
    stream.read(IPA, 4)
    assert rig.smmu.walks == walks + 1


def test_an_illegal_command_stops_the_queue_with_cerror_ill_until_gerrorn_acknowledges(rig):
    rig.enable()
    rig.command(0x99)
    assert rig.r(CMDQ_CONS) == 1 << 24 | 0               # ERR = CERROR_ILL, at the bad command
    assert rig.r(GERROR) & 1 and rig.pulses["gerror"] == 1
    rig.memory.write(CMDQ, struct.pack("<4I", 0x46, 0, 0, 0))   # software fixes it: a CMD_SYNC
    rig.command(0x46)
    assert rig.r(CMDQ_CONS) & 0xFFFFF == 0               # stopped while the error is active
    rig.w(GERRORN, rig.r(GERROR))
    assert rig.r(CMDQ_CONS) == 2                         # both consumed, ERR gone with the index


def test_cmd_sync_with_cs_irq_pulses_its_interrupt(rig):
    rig.enable()
    rig.command(0x46 | 1 << 12)
    rig.command(0x46)
    assert rig.pulses["cmd_sync"] == 1 and rig.r(CMDQ_CONS) == 2


def test_a_misaligned_command_queue_aborts(rig):
    rig.enable()
    rig.w(CMDQ_BASE, (CMDQ + 0x20) | 4, 8)               # 256-byte queue at a 32-byte boundary
    rig.command(0x46)
    assert rig.r(CMDQ_CONS) >> 24 == 2 and rig.r(GERROR) & 1


def test_a_two_level_stream_table(rig):
    l1, l2 = 0x8000, 0x9000
    rig.memory.q(l1 + 8 * 1, l2 | 3)                     # SIDs 64-127: span 3, 4 STEs
    rig.memory.write(l2 + 64 * 2, ste())                 # SID 66
    rig.enable()
    rig.w(STRTAB_BASE, l1, 8)
    rig.w(STRTAB_BASE_CFG, 1 << 16 | 6 << 6 | 8)         # 2-level, SPLIT 6, 256 SIDs
    rig.smmu.stream(66).write(IPA, b"L2")
    assert rig.memory.read(PA, 2) == b"L2"
    for sid in (70, 10):                                 # past the span; an invalid L1 descriptor
        with pytest.raises(DmaFault):
            rig.smmu.stream(sid).read(IPA, 4)
    assert [e["type"] for e in rig.events()] == [C_BAD_STREAMID, C_BAD_STREAMID]


def test_a_misaligned_stream_table_makes_every_lookup_f_ste_fetch(rig):
    rig.enable()
    rig.w(STRTAB_BASE, STRTAB + 0x40, 8)                 # 1 KiB linear table at a 64-byte boundary
    with pytest.raises(DmaFault):
        rig.smmu.stream(5).read(IPA, 4)
    assert rig.events()[0]["type"] == F_STE_FETCH


def test_a_full_event_queue_loses_events_and_toggles_ovflg(rig):
    rig.enable()
    stream = rig.smmu.stream(5)
    for n in range(6):
        with pytest.raises(DmaFault):
            stream.read(0x1000_0000 + n * 0x1000, 4)
    assert rig.r(EVENTQ_PROD) == 1 << 31 | 4             # full: index 0, wrapped; OVFLG toggled
    assert rig.smmu.events_lost == 2 and not rig.r(GERROR)
    assert rig.r(0x100A8) == rig.r(EVENTQ_PROD)          # page 1 alias
    rig.w(0x100AC, 1 << 31 | 4)                          # consumed all four, overflow acknowledged
    with pytest.raises(DmaFault):
        stream.read(0x2000_0000, 4)
    assert rig.r(EVENTQ_PROD) == 1 << 31 | 5
    for n in range(4):                                   # full again: a new overflow toggles again
        with pytest.raises(DmaFault):
            stream.read(0x3000_0000 + n * 0x1000, 4)
    assert rig.r(EVENTQ_PROD) == 0 << 31 | 0 and rig.smmu.events_lost == 3


def test_a_misaligned_event_queue_is_an_eventq_abort_error(rig):
    rig.enable()
    rig.w(EVENTQ_BASE, (EVENTQ + 0x20) | 2, 8)           # 128-byte queue at a 32-byte boundary
    with pytest.raises(DmaFault):
        rig.smmu.stream(5).read(0x1000_0000, 4)
    assert rig.r(GERROR) & 1 << 2 and rig.pulses["gerror"] == 1


def test_the_caches_survive_a_snapshot(rig):
    rig.enable()
    stream = rig.smmu.stream(5)
    stream.read(IPA, 4)
    rig.set_ste(5, ste(config=0b000))                    # only the cached STE translates now
    other = Rig()
    other.memory.mem[:] = rig.memory.mem
    other.smmu.from_state(rig.smmu.state())
    assert other.smmu.stream(5).read(IPA, 4) == bytes(4)
    assert other.smmu.walks == 0                         # the IOTLB came along too


def test_turning_the_smmu_off_stops_cached_translations_at_once(rig):
    rig.enable()
    stream = rig.smmu.stream(5)
    stream.read(IPA, 4)
    stream.read(IPA, 4)                                  # served from the caches now
    rig.w(CR0, 0b1100)                                   # SMMUEN off; GBPA aborts
    with pytest.raises(DmaFault, match="GBPA.ABORT"):
        stream.read(IPA, 4)
