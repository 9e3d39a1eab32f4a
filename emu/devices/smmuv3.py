"""SMMUv3 (Arm IHI 0070), the stage-2 subset: an IOMMU that confines each device stream's DMA to
the memory of one VM, through that VM's own stage-2 tables.

A device is built with a DMA port (emu/mem/dma.py); behind this SMMU that port is a stream,
``smmu.stream(sid)``. Each transfer is translated page by page: the stream's STE (stream table
entry) says abort, bypass or stage 2; a stage-2 STE names the tables (S2TTB), their geometry
(the VTCR_EL2 fields), the VMID and whether faults are recorded (S2R). The walk is the CPU's
(emu/cpu/mmu.py). A fault refuses the whole transfer (DmaFault: nothing is read or written) and,
as the STE asks, writes an event to the event queue.

Interface
    MMIO      0x20000 bytes: page 0 registers, and EVENTQ_PROD/CONS also at their page 1
              offsets (0x100A8, 0x100AC), where Linux reads them. 32-bit accesses, and 64-bit
              ones to the 64-bit registers (STRTAB_BASE, CMDQ_BASE, EVENTQ_BASE).
    DMA       ``memory``: the physical port the SMMU itself reads its tables and queues through
              and that translated transfers go to.
    IRQ out   ``eventq``, ``cmd_sync``, ``gerror`` (QEMU virt: SPIs 74, 76, 77, INTIDs 106,
              108, 109), pulsed: an event written with IRQ_CTRL.EVENTQ_IRQEN, a CMD_SYNC with
              CS = SIG_IRQ, a new global error with IRQ_CTRL.GERROR_IRQEN.
    Registers IDR0 (S2P, AArch64 tables, VMID16, two-level stream tables), IDR1 (16-bit
              StreamIDs, queues of up to 2^8 entries), IDR5 (4 KiB granule, 44-bit OAS),
              CR0/CR0ACK, CR1, CR2, GBPA, IRQ_CTRL/IRQ_CTRL_ACK, GERROR/GERRORN,
              STRTAB_BASE/STRTAB_BASE_CFG (linear and two-level), CMDQ_BASE/PROD/CONS,
              EVENTQ_BASE/PROD/CONS.
    Commands  CFGI_STE, CFGI_STE_RANGE (CFGI_ALL is its range 31), CFGI_CD and CFGI_CD_ALL
              (nothing to do: no stage 1), TLBI_S12_VMALL, TLBI_S2_IPA, TLBI_NSNH_ALL,
              TLBI_NH_ALL and TLBI_EL2_ALL (no stage-1 entries to drop), PREFETCH_CONFIG and
              PREFETCH_ADDR (hints), CMD_SYNC. Any other opcode is illegal: CMDQ_CONS.ERR =
              CERROR_ILL and GERROR.CMDQ_ERR, and the queue stops at it until GERRORN
              acknowledges.
    Events    F_TRANSLATION, F_ADDR_SIZE, F_ACCESS, F_PERMISSION, F_WALK_EABT (stage-2 walks,
              when the STE's S2R is set), C_BAD_STREAMID, F_STE_FETCH, C_BAD_STE (always).

Behaviour as hardware has it, which is what the hypervisor must be written against:
    * an STE is read from memory the first time a stream is used and then cached: a change to
      it takes effect only after CFGI_STE (or a range) names it;
    * a translation lives in the IOTLB, tagged with its VMID, until a TLBI drops it, whatever
      the tables say meanwhile;
    * queue bases must be aligned to their size (at least 32 bytes), and a stream table to its
      size (a linear one, or a two-level table's first level); a misaligned queue aborts
      (CERROR_ABT for the command queue, GERROR.EVENTQ_ABT_ERR for the event queue) and a
      misaligned stream table makes every lookup F_STE_FETCH. QEMU does not check these.
    * a full event queue loses the event and toggles EVENTQ_PROD.OVFLG, once until software
      acknowledges it by copying it to EVENTQ_CONS.OVACKFLG, as the architecture says (7.4,
      "Event queue overflow"); GERROR is for aborts, not overflow.
    * with SMMUEN clear, GBPA decides: ABORT set (this model's reset value: nothing passes an
      SMMU nobody programmed) aborts every transfer, clear lets it through untranslated.

Not modelled: stage 1 (IDR0.S1P = 0: an STE asking for it is C_BAD_STE), the PRI queue, ATS,
MSIs (IDR0.MSI = 0), stalls, the Secure state, and translation ranges in TLBI_S2_IPA (one page
is dropped, which hardware may over-invalidate but never under).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from ..cpu.mmu import walk_stage2
from ..mem.dma import DmaFault, DmaPort
from .base import MmioDevice
from .irq import IrqLine
from .log import LogSink
from .regs import RO, Field, Reg, RegisterMap

PAGE = 0x1000
STE_BYTES, CMD_BYTES, EVT_BYTES, L1STD_BYTES = 64, 16, 32, 8
SID_BITS = 16
QUEUE_LOG2_MAX = 8
OAS_BITS = 44

# IDR0 (6.3.1)
IDR0_S2P = 1 << 0
IDR0_TTF_AA64 = 2 << 2
IDR0_COHACC = 1 << 4
IDR0_TTENDIAN_LE = 2 << 21
IDR0_VMID16 = 1 << 18
IDR0_ST_LEVEL_2LVL = 1 << 27
IDR0 = IDR0_S2P | IDR0_TTF_AA64 | IDR0_COHACC | IDR0_TTENDIAN_LE | IDR0_VMID16 | IDR0_ST_LEVEL_2LVL
IDR1 = SID_BITS | (QUEUE_LOG2_MAX << 16) | (QUEUE_LOG2_MAX << 21)   # SIDSIZE, EVENTQS, CMDQS
IDR5 = (1 << 4) | 0b100          # GRAN4K, OAS 44 bits

CR0_SMMUEN, CR0_EVENTQEN, CR0_CMDQEN = 1 << 0, 1 << 2, 1 << 3
CR0_MASK = 0x1F
GBPA_ABORT, GBPA_UPDATE = 1 << 20, 1 << 31
GBPA_MASK = 0x001F_3FFF & ~(1 << 21) | GBPA_ABORT   # MemAttr ... ABORT; UPDATE handled apart
IRQ_GERROR_EN, IRQ_EVENTQ_EN = 1 << 0, 1 << 2
GERROR_CMDQ_ERR, GERROR_EVENTQ_ABT_ERR = 1 << 0, 1 << 2
GERROR_MASK = 0x1FD
CERROR_ILL, CERROR_ABT = 1, 2
CONS_ERR = Field("ERR", 24, 7)
PROD_OVFLG = 1 << 31

STRTAB_ADDR_MASK = ((1 << 52) - 1) & ~0x3F
Q_ADDR_MASK = ((1 << 52) - 1) & ~0x1F
STRTAB_CFG_LOG2SIZE = Field("LOG2SIZE", 0, 6)
STRTAB_CFG_SPLIT = Field("SPLIT", 6, 5)
STRTAB_CFG_FMT = Field("FMT", 16, 2)
Q_LOG2SIZE = Field("LOG2SIZE", 0, 5)

# Commands (4.1.2: opcodes) and events (7.3).
CMD_PREFETCH_CONFIG, CMD_PREFETCH_ADDR = 0x01, 0x02
CMD_CFGI_STE, CMD_CFGI_STE_RANGE, CMD_CFGI_CD, CMD_CFGI_CD_ALL = 0x03, 0x04, 0x05, 0x06
CMD_TLBI_NH_ALL, CMD_TLBI_EL2_ALL = 0x10, 0x20
CMD_TLBI_S12_VMALL, CMD_TLBI_S2_IPA, CMD_TLBI_NSNH_ALL = 0x28, 0x2A, 0x30
CMD_SYNC = 0x46
SYNC_CS_IRQ = 1

C_BAD_STREAMID, F_STE_FETCH, C_BAD_STE = 0x02, 0x03, 0x04
F_WALK_EABT, F_TRANSLATION, F_ADDR_SIZE, F_ACCESS, F_PERMISSION = 0x0B, 0x10, 0x11, 0x12, 0x13
EVENT_NAMES = {C_BAD_STREAMID: "C_BAD_STREAMID", F_STE_FETCH: "F_STE_FETCH", C_BAD_STE: "C_BAD_STE",
               F_WALK_EABT: "F_WALK_EABT", F_TRANSLATION: "F_TRANSLATION", F_ADDR_SIZE: "F_ADDR_SIZE",
               F_ACCESS: "F_ACCESS", F_PERMISSION: "F_PERMISSION"}

# STE (5.2): Config in dword 0; stage-2 fields in dwords 2 and 3.
STE_CONFIG_ABORT, STE_CONFIG_BYPASS, STE_CONFIG_S2 = 0b000, 0b100, 0b110
S2AP_READ, S2AP_WRITE, DESC_AF = 1 << 6, 1 << 7, 1 << 10


@dataclass(frozen=True)
class Ste:
    """The fields of one decoded STE that this model acts on."""

    config: int
    vmid: int = 0
    vtcr: int = 0           # T0SZ, SL0, IRGN0... TG0, PS as in VTCR_EL2 (STE dword 2 bits 50:32)
    s2ttb: int = 0
    s2r: bool = False       # record faults as events

    @property
    def ps_bits(self) -> int:
        return {0: 32, 1: 36, 2: 40, 3: 42, 4: 44, 5: 48}.get((self.vtcr >> 16) & 7, 48)


class _Refused(Exception):
    """A lookup that ends the transfer: ``event`` is (type, fields) to record, or None."""

    def __init__(self, reason: str, event: tuple[int, dict] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.event = event


class Smmuv3(MmioDevice):
    """SMMUv3, stage 2 only. See the module docstring for the interface."""

    SIZE = 0x20000

    REGS = RegisterMap(
        Reg("IDR0", 0x00, access=RO, reset=IDR0),
        Reg("IDR1", 0x04, access=RO, reset=IDR1),
        Reg("IDR2", 0x08, access=RO),
        Reg("IDR3", 0x0C, access=RO),
        Reg("IDR4", 0x10, access=RO),
        Reg("IDR5", 0x14, access=RO, reset=IDR5),
        Reg("IIDR", 0x18, access=RO),
        Reg("AIDR", 0x1C, access=RO),             # SMMUv3.0
        Reg("CR0", 0x20, mask=CR0_MASK, on_change="_cr0_changed"),
        Reg("CR0ACK", 0x24, access=RO),
        Reg("CR1", 0x28, mask=0x3F),
        Reg("CR2", 0x2C, mask=0x7),
        Reg("GBPA", 0x44, reset=GBPA_ABORT, on_read="_read_gbpa", on_write="_write_gbpa"),
        Reg("IRQ_CTRL", 0x50, mask=0x7, on_change="_irq_ctrl_changed"),
        Reg("IRQ_CTRL_ACK", 0x54, access=RO),
        Reg("GERROR", 0x60, access=RO),
        Reg("GERRORN", 0x64, mask=GERROR_MASK, on_change="_gerrorn_changed"),
        Reg("STRTAB_BASE", 0x80, width=64, sizes=(4, 8), mask=STRTAB_ADDR_MASK | 1 << 62),
        Reg("STRTAB_BASE_CFG", 0x88, mask=0x3_07FF),
        Reg("CMDQ_BASE", 0x90, width=64, sizes=(4, 8), mask=Q_ADDR_MASK | 1 << 62 | 0x1F),
        Reg("CMDQ_PROD", 0x98, mask=0xFFFFF, on_change="_process_commands"),
        Reg("CMDQ_CONS", 0x9C, mask=0xFFFFF),
        Reg("EVENTQ_BASE", 0xA0, width=64, sizes=(4, 8), mask=Q_ADDR_MASK | 1 << 62 | 0x1F),
        Reg("EVENTQ_PROD", 0xA8, access=RO),
        Reg("EVENTQ_CONS", 0xAC, mask=0xFFFFF | PROD_OVFLG),
        Reg("EVENTQ_PROD_P1", 0x100A8, access=RO, target="EVENTQ_PROD"),
        Reg("EVENTQ_CONS_P1", 0x100AC, mask=0xFFFFF | PROD_OVFLG, target="EVENTQ_CONS"),
    )

    def __init__(self, memory: DmaPort, eventq: IrqLine | None = None, cmd_sync: IrqLine | None = None,
                 gerror: IrqLine | None = None, log: LogSink | None = None, name: str = "smmu"):
        super().__init__(log=log, name=name)
        self.memory = memory
        self.eventq_irq = eventq or IrqLine(None, f"{name}.eventq")
        self.cmd_sync_irq = cmd_sync or IrqLine(None, f"{name}.cmd_sync")
        self.gerror_irq = gerror or IrqLine(None, f"{name}.gerror")
        self._ste_cache: dict[int, Ste] = {}
        self._iotlb: dict[tuple[int, int], tuple[int, int]] = {}   # (vmid, ipa page) -> (pa page, S2AP)
        self.events_lost = 0
        self.walks = 0          # stage-2 walks done (IOTLB misses), for tests and benchmarks
        self._smmuen = False    # CR0.SMMUEN, kept apart for the translation's fast path
        # (sid, page) -> the IOTLB entry its cached STE leads to: one lookup for a hit. Derived
        # from the two caches, and emptied whenever either loses anything or CR0 changes.
        self._fast: dict[tuple[int, int], tuple[int, int]] = {}

    # --- the device side -------------------------------------------------------------------

    def stream(self, sid: int) -> "SmmuStream":
        """The DMA port of stream ``sid``, to give a device when it is built."""
        if not 0 <= sid < 1 << SID_BITS:
            raise ValueError(f"StreamID {sid} is not a {SID_BITS}-bit value")
        return SmmuStream(self, sid)

    def translate(self, sid: int, addr: int, size: int, write: bool) -> list[tuple[int, int]]:
        """The physical pieces ``[(pa, length)]`` of a transfer of ``size`` bytes at IOVA ``addr``
        by stream ``sid``, or DmaFault (and an event, as the configuration asks) if any page of it
        is refused: a transfer is all or nothing."""
        if addr % PAGE + size <= PAGE:
            # The common case, first: one page whose stream and translation are both cached.
            hit = self._fast.get((sid, addr - addr % PAGE))
            if hit is not None and hit[1] & (S2AP_WRITE if write else S2AP_READ):
                return [(hit[0] + addr % PAGE, size)]
        return self._translate(sid, addr, size, write)

    def _translate(self, sid: int, addr: int, size: int, write: bool) -> list[tuple[int, int]]:
        if not self._smmuen:
            if self.regs["GBPA"] & GBPA_ABORT:
                raise DmaFault(addr, size, write, f"{self.name}: disabled, GBPA.ABORT")
            return [(addr, size)]
        try:
            ste = self._ste(sid)
            if ste.config == STE_CONFIG_BYPASS:
                return [(addr, size)]
            if ste.config == STE_CONFIG_ABORT:
                raise _Refused("stream's STE aborts")
            pieces: list[tuple[int, int]] = []
            at, left = addr, size
            while left > 0:
                n = min(left, PAGE - at % PAGE)
                pieces.append((self._stage2(sid, ste, at, write), n))
                at, left = at + n, left - n
            return pieces
        except _Refused as refused:
            if refused.event is not None:
                self._record(sid, *refused.event)
            raise DmaFault(addr, size, write, f"{self.name}: stream {sid}: {refused.reason}") from None

    def _ste(self, sid: int) -> Ste:
        cached = self._ste_cache.get(sid)
        if cached is not None:
            return cached
        ste_pa = self._ste_address(sid)
        try:
            raw = self.memory.read(ste_pa, STE_BYTES)
        except DmaFault:
            raise _Refused(f"STE at {ste_pa:#x} is not memory", (F_STE_FETCH, {"addr2": ste_pa})) from None
        dw = struct.unpack("<8Q", raw)
        if not dw[0] & 1:
            raise _Refused("STE not valid", (C_BAD_STE, {}))
        config = (dw[0] >> 1) & 7
        if config not in (STE_CONFIG_ABORT, STE_CONFIG_BYPASS, STE_CONFIG_S2):
            raise _Refused(f"STE Config {config:#05b} (stage 1) is not supported", (C_BAD_STE, {}))
        ste = Ste(config)
        if config == STE_CONFIG_S2:
            vtcr = (dw[2] >> 32) & 0x7FFFF
            if not dw[2] >> 51 & 1:   # S2AA64
                raise _Refused("STE S2AA64 clear: only AArch64 tables are supported", (C_BAD_STE, {}))
            if (vtcr >> 14) & 3 != 0:
                raise _Refused("STE S2TG is not the 4 KiB granule", (C_BAD_STE, {}))
            ste = Ste(config, vmid=dw[2] & 0xFFFF, vtcr=vtcr, s2ttb=dw[3] & (((1 << 52) - 1) & ~0xF),
                      s2r=bool(dw[2] >> 58 & 1))
        self._ste_cache[sid] = ste
        return ste

    def _ste_address(self, sid: int) -> int:
        base = self.regs["STRTAB_BASE"] & STRTAB_ADDR_MASK
        cfg = self.regs["STRTAB_BASE_CFG"]
        log2size = min(STRTAB_CFG_LOG2SIZE.get(cfg), SID_BITS)
        if sid >> log2size:
            raise _Refused(f"StreamID beyond the stream table's 2^{log2size}", (C_BAD_STREAMID, {}))
        if STRTAB_CFG_FMT.get(cfg) == 0:                    # linear
            if base % max(STE_BYTES << log2size, STE_BYTES):
                raise _Refused(f"linear stream table at {base:#x} not aligned to its size",
                               (F_STE_FETCH, {"addr2": base}))
            return base + sid * STE_BYTES
        if STRTAB_CFG_FMT.get(cfg) != 1:
            raise _Refused("reserved STRTAB_BASE_CFG.FMT", (C_BAD_STREAMID, {}))
        split = STRTAB_CFG_SPLIT.get(cfg)
        if split not in (6, 8, 10):
            split = 6                                       # reserved values behave as 6 here
        l1_entries = 1 << max(log2size - split, 0)
        if base % max(l1_entries * L1STD_BYTES, 64):
            raise _Refused(f"stream table level 1 at {base:#x} not aligned to its size",
                           (F_STE_FETCH, {"addr2": base}))
        l1_pa = base + (sid >> split) * L1STD_BYTES
        try:
            (l1,) = struct.unpack("<Q", self.memory.read(l1_pa, L1STD_BYTES))
        except DmaFault:
            raise _Refused(f"L1STD at {l1_pa:#x} is not memory", (F_STE_FETCH, {"addr2": l1_pa})) from None
        span = l1 & 0x1F
        index = sid & ((1 << split) - 1)
        if span == 0 or span > split + 1 or index >> (span - 1):
            raise _Refused("StreamID not covered by its level-1 descriptor's span", (C_BAD_STREAMID, {}))
        l2 = l1 & (((1 << 52) - 1) & ~0x3F)
        if l2 % (STE_BYTES << (span - 1)):
            raise _Refused(f"level-2 stream table at {l2:#x} not aligned to its span",
                           (F_STE_FETCH, {"addr2": l2}))
        return l2 + index * STE_BYTES

    def _stage2(self, sid: int, ste: Ste, ipa: int, write: bool) -> int:
        page, offset = ipa & ~(PAGE - 1), ipa % PAGE
        hit = self._iotlb.get((ste.vmid, page))
        if hit is None:
            hit = self._walk(sid, ste, ipa, write)
            self._iotlb[(ste.vmid, page)] = hit
        self._fast[(sid, page)] = hit
        pa_page, s2ap = hit
        if not s2ap & (S2AP_WRITE if write else S2AP_READ):
            raise _Refused(f"stage-2 permission fault at IPA {ipa:#x}",
                           self._fault(ste, F_PERMISSION, ipa, write))
        return pa_page + offset

    def _walk(self, sid: int, ste: Ste, ipa: int, write: bool) -> tuple[int, int]:
        self.walks += 1
        unreadable: list[int] = []

        def read_u64(pa: int) -> int:
            try:
                return struct.unpack("<Q", self.memory.read(pa, 8))[0]
            except DmaFault:
                unreadable.append(pa)
                return 0        # read as invalid; reported as an external abort below

        w = walk_stage2(ste.s2ttb, ste.vtcr, ipa, read_u64)
        if unreadable:
            raise _Refused(f"stage-2 table at {unreadable[0]:#x} is not memory",
                           self._fault(ste, F_WALK_EABT, ipa, write, addr2=unreadable[0]))
        if w.pa is None:
            kind = F_ADDR_SIZE if "beyond" in (w.fault or "") else F_TRANSLATION
            raise _Refused(f"stage-2 {w.fault} at IPA {ipa:#x}", self._fault(ste, kind, ipa, write))
        desc = w.steps[-1].descriptor
        if not desc & DESC_AF:
            raise _Refused(f"stage-2 access flag fault at IPA {ipa:#x}", self._fault(ste, F_ACCESS, ipa, write))
        if w.pa >> min(ste.ps_bits, OAS_BITS):
            raise _Refused(f"output address {w.pa:#x} beyond S2PS", self._fault(ste, F_ADDR_SIZE, ipa, write))
        return w.pa & ~(PAGE - 1), desc & (S2AP_READ | S2AP_WRITE)

    @staticmethod
    def _fault(ste: Ste, kind: int, ipa: int, write: bool, addr2: int | None = None) -> tuple[int, dict] | None:
        if not ste.s2r:
            return None         # S2R clear: the transfer is refused without an event
        return kind, {"addr": ipa, "addr2": ipa & ~(PAGE - 1) if addr2 is None else addr2,
                      "rnw": not write, "s2": True}

    # --- the event queue ---------------------------------------------------------------------

    def _record(self, sid: int, kind: int, fields: dict) -> None:
        """Write one event record (7.3), if the event queue is on and has room."""
        if not self.regs["CR0"] & CR0_EVENTQEN:
            return
        words = [kind & 0xFF, sid & 0xFFFF_FFFF, 0,
                 (int(fields.get("rnw", False)) << 3) | (int(fields.get("s2", False)) << 7),
                 0, 0, 0, 0]
        addr, addr2 = fields.get("addr", 0), fields.get("addr2", 0)
        words[4], words[5] = addr & 0xFFFF_FFFF, addr >> 32
        words[6], words[7] = addr2 & 0xFFFF_FFFF, addr2 >> 32
        base_reg = self.regs["EVENTQ_BASE"]
        log2 = min(Q_LOG2SIZE.get(base_reg), QUEUE_LOG2_MAX)
        base = base_reg & Q_ADDR_MASK
        prod, cons = self.regs["EVENTQ_PROD"], self.regs["EVENTQ_CONS"]
        wrap_mask = (2 << log2) - 1
        if (prod ^ cons) & wrap_mask == 1 << log2:          # same index, other wrap: full
            self.events_lost += 1
            if not (prod ^ cons) & PROD_OVFLG:              # signalled once until CONS.OVACKFLG acks it
                self.regs["EVENTQ_PROD"] = prod ^ PROD_OVFLG
            return
        if base % max(EVT_BYTES << log2, 32):
            self._global_error(GERROR_EVENTQ_ABT_ERR, f"EVENTQ_BASE {base:#x} not aligned to its size")
            return
        try:
            self.memory.write(base + (prod & ((1 << log2) - 1)) * EVT_BYTES, struct.pack("<8I", *words))
        except DmaFault:
            self._global_error(GERROR_EVENTQ_ABT_ERR, "event queue is not writable memory")
            return
        self.regs["EVENTQ_PROD"] = (prod & PROD_OVFLG) | ((prod + 1) & wrap_mask)
        if self.regs["IRQ_CTRL"] & IRQ_EVENTQ_EN:
            self.eventq_irq.pulse()

    def _global_error(self, bit: int, why: str) -> None:
        """Activate a GERROR bit (toggle it, unless already active) and signal it."""
        self.guest_error(why)
        gerror, gerrorn = self.regs["GERROR"], self.regs["GERRORN"]
        if (gerror ^ gerrorn) & bit:
            return
        self.regs["GERROR"] = gerror ^ bit
        if self.regs["IRQ_CTRL"] & IRQ_GERROR_EN:
            self.gerror_irq.pulse()

    # --- the command queue -------------------------------------------------------------------

    def _process_commands(self) -> None:
        """Consume commands from CONS up to PROD, as QEMU does on each CMDQ_PROD write."""
        if not self.regs["CR0"] & CR0_CMDQEN:
            return
        if (self.regs["GERROR"] ^ self.regs["GERRORN"]) & GERROR_CMDQ_ERR:
            return              # stopped on an error until software acknowledges it
        base_reg = self.regs["CMDQ_BASE"]
        log2 = min(Q_LOG2SIZE.get(base_reg), QUEUE_LOG2_MAX)
        base = base_reg & Q_ADDR_MASK
        wrap_mask = (2 << log2) - 1
        cons = self.regs["CMDQ_CONS"] & wrap_mask
        prod = self.regs["CMDQ_PROD"] & wrap_mask
        while cons != prod:
            error = None
            if base % max(CMD_BYTES << log2, 32):
                self.guest_error(f"CMDQ_BASE {base:#x} not aligned to its size")
                error = CERROR_ABT
            else:
                try:
                    raw = self.memory.read(base + (cons & ((1 << log2) - 1)) * CMD_BYTES, CMD_BYTES)
                except DmaFault:
                    error = CERROR_ABT
                else:
                    error = self._command(raw)
            if error is not None:
                self.regs["CMDQ_CONS"] = CONS_ERR.put(cons, error)
                self._global_error(GERROR_CMDQ_ERR, f"command queue error {error} at index {cons}")
                return
            cons = (cons + 1) & wrap_mask
            self.regs["CMDQ_CONS"] = cons

    def _command(self, raw: bytes) -> int | None:
        w0, w1, w2, w3 = struct.unpack("<4I", raw)
        op = w0 & 0xFF
        if op in (CMD_CFGI_STE, CMD_CFGI_STE_RANGE, CMD_TLBI_S12_VMALL, CMD_TLBI_S2_IPA, CMD_TLBI_NSNH_ALL):
            self._fast.clear()
        if op == CMD_CFGI_STE:
            self._ste_cache.pop(w1, None)
        elif op == CMD_CFGI_STE_RANGE:
            span = w2 & 0x1F
            if span == 31:
                self._ste_cache.clear()
            else:
                first = w1 & ~((2 << span) - 1)
                for sid in [s for s in self._ste_cache if first <= s < first + (2 << span)]:
                    del self._ste_cache[sid]
        elif op == CMD_TLBI_S12_VMALL:
            vmid = w1 & 0xFFFF
            for key in [k for k in self._iotlb if k[0] == vmid]:
                del self._iotlb[key]
        elif op == CMD_TLBI_S2_IPA:
            self._iotlb.pop((w1 & 0xFFFF, (w3 << 32 | (w2 & ~0xFFF)) & ((1 << 52) - 1)), None)
        elif op == CMD_TLBI_NSNH_ALL:
            self._iotlb.clear()
        elif op == CMD_SYNC:
            if (w0 >> 12) & 3 == SYNC_CS_IRQ:
                self.cmd_sync_irq.pulse()
        elif op in (CMD_CFGI_CD, CMD_CFGI_CD_ALL, CMD_TLBI_NH_ALL, CMD_TLBI_EL2_ALL,
                    CMD_PREFETCH_CONFIG, CMD_PREFETCH_ADDR):
            pass                # no stage-1 state and no prefetching to act on
        else:
            self.guest_error(f"illegal command opcode {op:#04x}")
            return CERROR_ILL
        return None

    # --- registers ---------------------------------------------------------------------------

    def _cr0_changed(self) -> None:
        self.regs["CR0ACK"] = self.regs["CR0"]      # every change takes effect at once
        self._smmuen = bool(self.regs["CR0"] & CR0_SMMUEN)
        self._fast.clear()
        self._process_commands()

    def _irq_ctrl_changed(self) -> None:
        self.regs["IRQ_CTRL_ACK"] = self.regs["IRQ_CTRL"]

    def _gerrorn_changed(self) -> None:
        self._process_commands()        # an acknowledged CMDQ_ERR lets the queue go on

    def _read_gbpa(self) -> int:
        return self.regs["GBPA"]        # UPDATE completes at once: it always reads 0

    def _write_gbpa(self, value: int) -> None:
        if value & GBPA_UPDATE:
            self.regs["GBPA"] = value & GBPA_MASK

    # --- life cycle --------------------------------------------------------------------------

    def reset(self) -> None:
        super().reset()
        self._ste_cache.clear()
        self._iotlb.clear()
        self._fast.clear()
        self._smmuen = False

    def state(self) -> dict[str, Any]:
        s = super().state()
        s["ste_cache"] = {str(sid): [ste.config, ste.vmid, ste.vtcr, ste.s2ttb, ste.s2r]
                          for sid, ste in self._ste_cache.items()}
        s["iotlb"] = [[vmid, page, pa, ap] for (vmid, page), (pa, ap) in self._iotlb.items()]
        return s

    def from_state(self, state: dict[str, Any]) -> None:
        super().from_state(state)
        self._ste_cache = {int(sid): Ste(int(c), int(v), int(t), int(b), bool(r))
                           for sid, (c, v, t, b, r) in state.get("ste_cache", {}).items()}
        self._iotlb = {(int(v), int(p)): (int(pa), int(ap)) for v, p, pa, ap in state.get("iotlb", [])}
        self._smmuen = bool(self.regs["CR0"] & CR0_SMMUEN)
        self._fast.clear()


class SmmuStream:
    """One stream of an SMMU as a device's DMA port (emu/mem/dma.py): every transfer is
    translated, all of it or none."""

    def __init__(self, smmu: Smmuv3, sid: int):
        self.smmu = smmu
        self.sid = sid

    def read(self, addr: int, size: int) -> bytes:
        pieces = self.smmu.translate(self.sid, addr, size, write=False)
        if len(pieces) == 1:
            return self.smmu.memory.read(*pieces[0])
        return b"".join(self.smmu.memory.read(pa, n) for pa, n in pieces)

    def write(self, addr: int, data: bytes) -> None:
        pieces = self.smmu.translate(self.sid, addr, len(data), write=True)
        memory = self.smmu.memory
        accepts = getattr(memory, "accepts", None)
        if accepts is not None and not all(accepts(pa, n, True) for pa, n in pieces):
            raise DmaFault(addr, len(data), True, f"{self.smmu.name}: stream {self.sid}: a page "
                                                  "translates to memory that is not writable")
        at = 0
        for pa, n in pieces:
            self.smmu.memory.write(pa, data[at:at + n])
            at += n
