"""The CPU glue Unicorn lacks: start at EL2, architectural exception entry, IRQ/FIQ delivery.

Unicorn executes AArch64 instructions, stage-1 and stage-2 translation and ERET natively, but
it never enters an exception vector: every synchronous exception arrives at ``UC_HOOK_INTR``
with QEMU's EXCP_* number and with PC at the preferred return address (after SVC/HVC/SMC, at
the instruction for aborts, undefined instructions and traps). :class:`Cpu` completes the entry
as the Arm ARM describes it (DDI 0487, D1.10 "Exception entry"):

- ESR_ELx from the syndrome QEMU already computed, FAR_ELx for aborts (HPFAR_EL2 is already set
  by QEMU's stage-2 walk);
- ELR_ELx = preferred return address, SPSR_ELx = PSTATE;
- PSTATE = DAIF masked, target EL, SP_ELx selected (the stack pointers are banked by hand);
- PC = VBAR_ELx + offset by source (current EL with SP_EL0 / SP_ELx, lower EL AArch64) and type.

Writing PSTATE does not refresh QEMU's cached translation flags; a system-register write after
it does, so SPSR_ELx (a CP_REG write) is written after PSTATE in the same batch.
"""

from __future__ import annotations

import ctypes
from typing import Callable, NamedTuple

from unicorn import UC_HOOK_INTR, UC_PROT_EXEC, Uc, UcError
from unicorn.arm64_const import (
    UC_ARM64_REG_CP_REG,
    UC_ARM64_REG_ELR_EL1,
    UC_ARM64_REG_ELR_EL2,
    UC_ARM64_REG_ELR_EL3,
    UC_ARM64_REG_ESR_EL1,
    UC_ARM64_REG_ESR_EL2,
    UC_ARM64_REG_ESR_EL3,
    UC_ARM64_REG_FAR_EL1,
    UC_ARM64_REG_FAR_EL2,
    UC_ARM64_REG_FAR_EL3,
    UC_ARM64_REG_FPCR,
    UC_ARM64_REG_FPSR,
    UC_ARM64_REG_PC,
    UC_ARM64_REG_PSTATE,
    UC_ARM64_REG_Q0,
    UC_ARM64_REG_SP,
    UC_ARM64_REG_SP_EL0,
    UC_ARM64_REG_SP_EL1,
    UC_ARM64_REG_SP_EL2,
    UC_ARM64_REG_SP_EL3,
    UC_ARM64_REG_VBAR_EL1,
    UC_ARM64_REG_VBAR_EL2,
    UC_ARM64_REG_VBAR_EL3,
)
from unicorn.unicorn_py3.unicorn import uclib

from .calibrate import exception_state_offset, live_exception_address
from .fastreg import RegBatch, RegReader
from .hooks import HookRegistry
from .gpr import X
from .sysregs import SPSR_ELX, SYSREGS

_UC_PROT_EXEC = ctypes.c_int(UC_PROT_EXEC)
_vmem_translate = uclib.uc_vmem_translate
_vmem_translate.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int, ctypes.POINTER(ctypes.c_uint64)]
_vmem_translate.restype = ctypes.c_int

# QEMU's exception numbers as Unicorn reports them (target/arm/cpu.h).
EXCP_UDEF = 1
EXCP_SWI = 2
EXCP_PREFETCH_ABORT = 3
EXCP_DATA_ABORT = 4
EXCP_IRQ = 5
EXCP_FIQ = 6
EXCP_BKPT = 7
EXCP_HVC = 11
EXCP_HYP_TRAP = 12
EXCP_SMC = 13
EXCP_VIRQ = 14
EXCP_VFIQ = 15

# Vector offsets (D1.10.2, Table D1-7): base by where the exception comes from, plus its type.
VECTOR_CUR_SP0 = 0x000
VECTOR_CUR_SPX = 0x200
VECTOR_LOWER_A64 = 0x400
VECTOR_LOWER_A32 = 0x600
OFFSET_SYNC = 0x000
OFFSET_IRQ = 0x080
OFFSET_FIQ = 0x100
OFFSET_SERROR = 0x180

VECTOR_NAMES = {
    0x000: "sync_cur_sp0", 0x080: "irq_cur_sp0", 0x100: "fiq_cur_sp0", 0x180: "serror_cur_sp0",
    0x200: "sync_cur_spx", 0x280: "irq_cur_spx", 0x300: "fiq_cur_spx", 0x380: "serror_cur_spx",
    0x400: "sync_lower_a64", 0x480: "irq_lower_a64", 0x500: "fiq_lower_a64", 0x580: "serror_lower_a64",
    0x600: "sync_lower_a32", 0x680: "irq_lower_a32", 0x700: "fiq_lower_a32", 0x780: "serror_lower_a32",
}

_KIND = {OFFSET_SYNC: "sync", OFFSET_IRQ: "irq", OFFSET_FIQ: "fiq", OFFSET_SERROR: "serror"}

ESR_PC_ALIGNMENT = (0x22 << 26) | (1 << 25)  # EC_PC_ALIGN, IL

# QEMU resets the flags with its Z flag register at 0, which means Z set: a guest that reads NZCV
# before touching the flags sees 0x40000000 there, and so it does here.
PSTATE_RESET_Z = 1 << 30
MDCR_EL2_RESET = 6

PSTATE_DAIF = 0x3C0
PSTATE_I = 1 << 7
PSTATE_F = 1 << 6

HCR_FMO = 1 << 3
HCR_IMO = 1 << 4
HCR_TGE = 1 << 27

# SCR_EL3 as firmware leaves it for a non-secure hypervisor: NS, HCE (HVC enabled), RW (EL2 is
# AArch64). Without HCE and RW an ERET from EL2 to EL1 is an illegal return.
SCR_EL3_BOOT = (1 << 0) | (1 << 8) | (1 << 10)


class ExceptionEntry(NamedTuple):
    """What one exception entry did; passed to observers (trace, debugger, loop detector)."""

    kind: str          # "sync", "irq", "fiq", "serror"
    excp: int          # QEMU EXCP_* number (0 for interrupts raised by the glue)
    from_el: int
    to_el: int
    esr: int
    far: int | None
    elr: int
    spsr: int
    vector: int        # absolute address entered
    vector_offset: int


class ExcState(ctypes.Structure):
    """QEMU's ``env->exception``: what the faulting instruction computed before raising."""

    _fields_ = [
        ("syndrome", ctypes.c_uint32),
        ("fsr", ctypes.c_uint32),
        ("vaddress", ctypes.c_uint64),
        ("target_el", ctypes.c_uint32),
    ]


NESTED_FAULT_LIMIT = 8  # faults at the same vector in a row before a run is an exception loop

_INTERRUPT_EXCPS = frozenset((EXCP_IRQ, EXCP_FIQ, EXCP_VIRQ, EXCP_VFIQ))
_PLATFORM_EXCPS = frozenset((EXCP_UDEF, EXCP_SMC))  # may be semihosting or the EL3 PSCI conduit
_ABORT_EXCPS = frozenset((EXCP_PREFETCH_ABORT, EXCP_DATA_ABORT))


def _entry(raw: tuple) -> ExceptionEntry:
    return ExceptionEntry(_KIND[raw[0]], *raw[1:])


_INTR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)

_SP_REGS = (UC_ARM64_REG_SP_EL0, UC_ARM64_REG_SP_EL1, UC_ARM64_REG_SP_EL2, UC_ARM64_REG_SP_EL3)
_VBAR = {1: UC_ARM64_REG_VBAR_EL1, 2: UC_ARM64_REG_VBAR_EL2, 3: UC_ARM64_REG_VBAR_EL3}
_ELR = {1: UC_ARM64_REG_ELR_EL1, 2: UC_ARM64_REG_ELR_EL2, 3: UC_ARM64_REG_ELR_EL3}
_ESR = {1: UC_ARM64_REG_ESR_EL1, 2: UC_ARM64_REG_ESR_EL2, 3: UC_ARM64_REG_ESR_EL3}
_FAR = {1: UC_ARM64_REG_FAR_EL1, 2: UC_ARM64_REG_FAR_EL2, 3: UC_ARM64_REG_FAR_EL3}


class Cpu:
    """One AArch64 core on a Unicorn instance, with architectural exception entry.

    ``on_sync`` lets the machine claim an undefined instruction, an SMC or anything aimed at EL3
    before it is entered (semihosting HLT, the EL3 PSCI conduit it models); it returns True when
    it handled it. ``observers`` see every entry that happened; ``on_loop`` hears of a fault
    that keeps re-entering its own vector.
    """

    def __init__(self, uc: Uc, index: int = 0, hooks: HookRegistry | None = None):
        self.uc = uc
        self.index = index
        h = uc._uch
        self._uch = h
        self.on_sync: Callable[[int, int, int], bool] | None = None
        # Exceptions on_sync is asked about first (and any aimed at EL3): semihosting's HLT
        # and SMC by default; the machine adds HVC when HVC is its PSCI conduit.
        self.platform_excps = _PLATFORM_EXCPS
        self.observers: list[Callable[[ExceptionEntry], None]] = []
        self._last: tuple | None = None
        self._before_last: tuple | None = None
        self.pending_error: BaseException | None = None
        # Exception-loop detection (see enter); the machine turns it into a diagnostic.
        self.nested_faults = 0
        self.loop_origin: tuple | None = None
        self.on_loop: Callable[[ExceptionEntry], None] | None = None

        # QEMU's env->exception, read in place when it can be located safely, otherwise out of a
        # saved context (see calibrate.py); both offsets are calibrated once per process.
        self._ctx = ctypes.c_void_p()
        if uclib.uc_context_alloc(h, ctypes.byref(self._ctx)):
            raise RuntimeError("uc_context_alloc failed")
        live = live_exception_address(uc)
        self._save_ctx = live is None
        self._exc = ExcState.from_address(live if live is not None else self._ctx.value + exception_state_offset())

        # One read batch per target EL and one write batch per (saved SP bank, target EL, with
        # ESR?, with FAR?), built on first use.
        self._rd: list[RegBatch | None] = [None, None, None, None]
        self._wr: dict[int, RegBatch] = {}
        self._hcr = RegBatch(h, [SYSREGS["HCR_EL2"], SYSREGS["SCR_EL3"]])
        self._pc = RegReader(h, UC_ARM64_REG_PC)
        self._pstate = RegReader(h, UC_ARM64_REG_PSTATE)
        self._irq_line = False
        self._fiq_line = False
        self._virq_line = False
        self._vfiq_line = False
        self.on_interrupt: Callable[[], None] | None = None  # a line rose: stop at the next boundary
        # The binding's hook_add wraps callbacks in two Python layers; on the hottest path of the
        # glue we register a ctypes callback with the C library directly.
        self._intr_cb = _INTR_CB(self._on_intr_raw)
        if hooks is None:
            hooks = HookRegistry()
            hooks.attach(uc)
        hooks.add_native(uc, UC_HOOK_INTR, ctypes.cast(self._intr_cb, ctypes.c_void_p).value, None)

    def close(self) -> None:
        if self._ctx:
            uclib.uc_context_free(self._ctx)
            self._ctx = ctypes.c_void_p()

    # -- reset -----------------------------------------------------------------------------

    def reset_to_el2(self, entry: int, sp: int = 0) -> None:
        """Put the core at EL2h with DAIF masked, as firmware hands over to a hypervisor."""
        uc = self.uc
        self.write_sysreg("SCR_EL3", SCR_EL3_BOOT)
        self.set_pstate(PSTATE_RESET_Z | PSTATE_DAIF | (2 << 2) | 1)
        # MDCR_EL2.HPMN resets to the number of PMU event counters (six on the A53), as QEMU 7.2
        # resets it; Unicorn leaves 0.
        self.write_sysreg("MDCR_EL2", MDCR_EL2_RESET)
        uc.reg_write(UC_ARM64_REG_SP, sp)
        uc.reg_write(UC_ARM64_REG_PC, entry)

    def reset_to_el1(self, entry: int, sp: int = 0) -> None:
        """Put the core at EL1h, as a board without virtualization boots a kernel: EL2 is there
        but unused (HCR_EL2 = RW only), so nothing traps."""
        self.reset_to_el2(entry, sp)
        self.write_sysreg("HCR_EL2", 1 << 31)
        uc = self.uc
        self.set_pstate(PSTATE_RESET_Z | PSTATE_DAIF | (1 << 2) | 1)
        uc.reg_write(UC_ARM64_REG_SP, sp)
        uc.reg_write(UC_ARM64_REG_PC, entry)

    def fetch_pa(self, va: int) -> int | None:
        """The physical address an instruction fetch from ``va`` uses now, by the CPU's own
        translation (its current EL and regime, stage 2 included), or None if it would fault.
        Unicorn's probe walk raises no exception; it may fill the TLB, as a fetch would."""
        pa = ctypes.c_uint64()
        if _vmem_translate(self.uc._uch, ctypes.c_uint64(va), _UC_PROT_EXEC, ctypes.byref(pa)):
            return None
        return pa.value

    # -- register helpers (slow path: debugger, trace, diagnostics) ----------------------------

    def read_sysreg(self, name: str) -> int:
        r = SYSREGS[name]
        return self.uc.reg_read(UC_ARM64_REG_CP_REG, (r.crn, r.crm, r.op0, r.op1, r.op2))

    def write_sysreg(self, name: str, value: int) -> None:
        r = SYSREGS[name]
        self.uc.reg_write(UC_ARM64_REG_CP_REG, (r.crn, r.crm, r.op0, r.op1, r.op2, value))

    @property
    def pc(self) -> int:
        return self._pc.read()

    @property
    def el(self) -> int:
        return (self._pstate.read() >> 2) & 3

    @property
    def sp_bank(self) -> int:
        """Which SP_ELn the live SP is: SP_EL0 with PSTATE.SPSel clear, else the EL's own."""
        pstate = self.uc.reg_read(UC_ARM64_REG_PSTATE)
        return (pstate >> 2) & 3 if pstate & 1 else 0

    @property
    def pstate(self) -> int:
        return self.uc.reg_read(UC_ARM64_REG_PSTATE)

    def set_pstate(self, value: int) -> None:
        """Write PSTATE (NZCV, DAIF, EL, SPSel) from outside the guest: a debugger, a snapshot, a
        reset. QEMU caches the EL and other flags derived from PSTATE and recomputes them on a
        system-register write, so SCR_EL3 is written back with its own value after it."""
        self.uc.reg_write(UC_ARM64_REG_PSTATE, value & 0xFFFFFFFF)
        self.write_sysreg("SCR_EL3", self.read_sysreg("SCR_EL3"))

    # -- the whole state (snapshots) -----------------------------------------------------------

    #: Registers read from the counter or derived from other state; not saved, never written.
    UNSAVED_SYSREGS = frozenset({"CurrentEL", "MIDR_EL1", "MPIDR_EL1", "ID_AA64PFR0_EL1", "ID_AA64MMFR0_EL1",
                                 "SP_EL1", "SP_EL2"})
    SP_BANKS = {"SP_EL0": UC_ARM64_REG_SP_EL0, "SP_EL1": UC_ARM64_REG_SP_EL1,
                "SP_EL2": UC_ARM64_REG_SP_EL2, "SP_EL3": UC_ARM64_REG_SP_EL3}

    def state(self) -> dict:
        """Every register a run depends on, as plain data: general and SIMD registers, PC, SP and
        its banks, PSTATE, FPCR/FPSR and the system registers (timer registers are the timer
        model's). The interrupt inputs are ``lines``."""
        uc = self.uc
        regs = {f"x{i}": uc.reg_read(X[i]) for i in range(31)}
        regs.update(pc=uc.reg_read(UC_ARM64_REG_PC), sp=uc.reg_read(UC_ARM64_REG_SP),
                    pstate=uc.reg_read(UC_ARM64_REG_PSTATE), fpcr=uc.reg_read(UC_ARM64_REG_FPCR),
                    fpsr=uc.reg_read(UC_ARM64_REG_FPSR))
        regs["q"] = [uc.reg_read(UC_ARM64_REG_Q0 + i) for i in range(32)]
        regs["sp_banks"] = {n: uc.reg_read(r) for n, r in self.SP_BANKS.items()}
        sysregs = {}
        for name in SYSREGS:
            if name in self.UNSAVED_SYSREGS or name.startswith("CNT"):
                continue
            try:
                sysregs[name] = self.read_sysreg(name)
            except UcError:
                pass
        regs["sysregs"] = sysregs
        return regs

    def from_state(self, regs: dict) -> None:
        """Load what ``state()`` returned (already checked by the caller)."""
        uc = self.uc
        for name, value in regs["sysregs"].items():
            try:
                self.write_sysreg(name, value)
            except UcError:
                pass
        for i in range(31):
            uc.reg_write(X[i], regs[f"x{i}"])
        for i, q in enumerate(regs["q"]):
            uc.reg_write(UC_ARM64_REG_Q0 + i, q)
        uc.reg_write(UC_ARM64_REG_FPCR, regs["fpcr"])
        uc.reg_write(UC_ARM64_REG_FPSR, regs["fpsr"])
        # PSTATE first (the EL and SPSel decide which bank the live SP is), then the banked
        # stack pointers, then the live one.
        self.set_pstate(regs["pstate"])
        for n, r in self.SP_BANKS.items():
            uc.reg_write(r, regs["sp_banks"][n])
        uc.reg_write(UC_ARM64_REG_SP, regs["sp"])
        uc.reg_write(UC_ARM64_REG_PC, regs["pc"])

    # -- synchronous exceptions ------------------------------------------------------------------

    def _on_intr_raw(self, _uch: int, intno: int, _ud: int) -> None:
        try:
            if self._save_ctx:
                uclib.uc_context_save(self._uch, self._ctx)
            exc = self._exc
            syndrome = exc.syndrome
            target = exc.target_el
            if intno in _INTERRUPT_EXCPS:
                # Interrupts the glue did not raise (virtual ones are delivered natively).
                return
            if (intno in self.platform_excps or target == 3) and self.on_sync is not None \
                    and self.on_sync(intno, syndrome, target):
                return
            far = exc.vaddress if intno in _ABORT_EXCPS or (syndrome >> 26) in (0x34, 0x35) else None
            self.enter(target, OFFSET_SYNC, syndrome, far, intno)
        except BaseException as err:  # an exception must not unwind through C frames
            self.pending_error = err
            self.uc.emu_stop()

    def enter(self, target: int, type_offset: int, esr: int | None, far: int | None, excp: int = 0) -> None:
        """Take an exception to ``target`` EL: the architectural entry sequence, in two C calls."""
        rd = self._rd[target]
        if rd is None:
            rd = self._rd[target] = RegBatch(self._uch, [
                UC_ARM64_REG_PC, UC_ARM64_REG_PSTATE, UC_ARM64_REG_SP, _SP_REGS[target], _VBAR[target]])
        pc, pstate, sp, sp_target, vbar = rd.read()
        cur = (pstate >> 2) & 3
        bank = cur if pstate & 1 else 0  # which SP_ELn the live SP belongs to (PSTATE.SP)
        if target == cur:
            base = VECTOR_CUR_SPX if pstate & 1 else VECTOR_CUR_SP0
        else:
            base = VECTOR_LOWER_A64
        vector = vbar + base + type_offset

        key = (bank << 4) | (target << 2) | ((esr is not None) << 1) | (far is not None)
        batch = self._wr.get(key)
        if batch is None:
            regs = [_SP_REGS[bank], UC_ARM64_REG_PSTATE, SPSR_ELX[target], _ELR[target]]
            if esr is not None:
                regs.append(_ESR[target])
            if far is not None:
                regs.append(_FAR[target])
            regs += [UC_ARM64_REG_SP, UC_ARM64_REG_PC]
            batch = self._wr[key] = RegBatch(self._uch, regs)
        # The live SP goes back to its bank; the target's bank becomes the live SP.
        new_sp = sp if bank == target else sp_target
        new_pstate = PSTATE_DAIF | (target << 2) | 1
        if far is not None:
            batch.write([sp, new_pstate, pstate, pc, esr, far, new_sp, vector])
        elif esr is not None:
            batch.write([sp, new_pstate, pstate, pc, esr, new_sp, vector])
        else:
            batch.write([sp, new_pstate, pstate, pc, new_sp, vector])

        raw = (type_offset, excp, cur, target, esr or 0, far, pc, pstate, vector, base + type_offset)
        # An exception raised by the first instructions of the very vector it enters will be
        # raised again forever (VBAR unset, vector code undefined or unmapped); so will one that
        # its handler raises again at the same instruction, wherever the handler lies (the
        # entry before this one came from the same EL, to the same EL, at the same address).
        last = self._last
        again = (last is not None and cur == target and last[2] == last[3] == target
                 and last[6] == pc and last[0] == type_offset == OFFSET_SYNC)
        if cur == target and (vector <= pc < vector + 0x80 or again):
            if self.nested_faults == 0:
                self.loop_origin = self._before_last if again else self._last
            self.nested_faults += 1
            if self.nested_faults >= NESTED_FAULT_LIMIT and self.on_loop is not None:
                self.on_loop(_entry(raw))
        else:
            self.nested_faults = 0
        self._before_last, self._last = self._last, raw
        if self.observers:
            entry = _entry(raw)
            for obs in self.observers:
                obs(entry)

    def take_pc_alignment_fault(self) -> None:
        """The fault the architecture takes when the PC is not a multiple of 4 (DDI 0487,
        D1.10.4 "PC alignment checking"): EC 0x22, IL = 1, FAR_ELx = ELR_ELx = the PC. Taken to
        the current EL, or from EL0 to EL1 (EL2 with HCR_EL2.TGE). Unicorn does not check the
        PC, so the machine calls this at an instruction boundary where it finds one misaligned."""
        el = self.el
        if el == 0:
            hcr, _scr = self._hcr.read()
            target = 2 if hcr & HCR_TGE else 1
        else:
            target = el
        self.enter(target, OFFSET_SYNC, ESR_PC_ALIGNMENT, self.pc)

    @property
    def last_entry(self) -> ExceptionEntry | None:
        return _entry(self._last) if self._last else None

    @property
    def loop_origin_entry(self) -> ExceptionEntry | None:
        return _entry(self.loop_origin) if self.loop_origin else None

    # -- interrupts ------------------------------------------------------------------------------
    #
    # Unicorn has no input for the IRQ/FIQ lines, so the glue holds their levels and enters the
    # vector itself at an instruction boundary (the machine's run loop). Virtual IRQ/FIQ (from a
    # GIC's virtual CPU interface) are separate lines, as on real hardware, rather than
    # HCR_EL2.VI/VF, which belong to the hypervisor.

    def _set_line(self, name: str, level: bool) -> None:
        level = bool(level)
        if getattr(self, name) != level:
            setattr(self, name, level)
            if level and self.on_interrupt is not None:
                self.on_interrupt()

    def set_irq(self, level: bool) -> None:
        """Drive the physical IRQ input (a GIC CPU interface's nIRQ output)."""
        self._set_line("_irq_line", level)

    def set_fiq(self, level: bool) -> None:
        self._set_line("_fiq_line", level)

    def set_virq(self, level: bool) -> None:
        """Drive the virtual IRQ input (a GIC virtual CPU interface's output)."""
        self._set_line("_virq_line", level)

    def set_vfiq(self, level: bool) -> None:
        self._set_line("_vfiq_line", level)

    LINES = ("irq", "fiq", "virq", "vfiq")

    @property
    def lines(self) -> dict[str, bool]:
        """The levels of the interrupt inputs, by name (LINES)."""
        return {"irq": self._irq_line, "fiq": self._fiq_line, "virq": self._virq_line, "vfiq": self._vfiq_line}

    def set_line(self, name: str, level: bool) -> None:
        """Drive one interrupt input by its name in LINES."""
        if name not in self.LINES:
            raise ValueError(f"no interrupt input {name!r}")
        self._set_line(f"_{name}_line", level)

    @property
    def interrupt_pending(self) -> bool:
        return self._irq_line or self._fiq_line or self._virq_line or self._vfiq_line

    def interrupt_target(self, fiq: bool, virtual: bool = False) -> int | None:
        """The EL a pending IRQ/FIQ would be taken to now, or None if it is masked.

        Physical (Arm DDI 0487, D1.13.1): with HCR_EL2.IMO/FMO (or TGE) set, the interrupt goes
        to EL2 and is not masked by PSTATE.I/F while the core is below EL2; at EL2 it is taken
        only if routed there and unmasked. Otherwise it goes to EL1 and cannot be taken at EL2.
        Virtual (D1.13.4): taken to EL1 only while the core is at EL1 or EL0, with HCR_EL2.IMO/FMO
        set and TGE clear, and masked by PSTATE.I/F.
        """
        pstate = self.uc.reg_read(UC_ARM64_REG_PSTATE)
        cur = (pstate >> 2) & 3
        hcr, _scr = self._hcr.read()
        mo = HCR_FMO if fiq else HCR_IMO
        masked = bool(pstate & (PSTATE_F if fiq else PSTATE_I))
        if virtual:
            if cur >= 2 or not hcr & mo or hcr & HCR_TGE or masked:
                return None
            return 1
        if hcr & (mo | HCR_TGE):
            if cur < 2:
                return 2
            return None if masked or cur > 2 else 2
        if cur >= 2:
            return None
        return None if masked else 1

    @property
    def interrupt_takeable(self) -> bool:
        """An interrupt is pending that would be taken now, not masked: what wakes a WFE, which
        masked interrupts do not (Arm DDI 0487, D1.16.1), unlike a WFI."""
        return any(line and self.interrupt_target(fiq, virtual) is not None
                   for fiq, virtual, line in ((True, False, self._fiq_line), (False, False, self._irq_line),
                                              (True, True, self._vfiq_line), (False, True, self._virq_line)))

    def deliver_interrupts(self) -> ExceptionEntry | None:
        """Take one pending, unmasked interrupt. Call only at an instruction boundary."""
        for fiq, virtual, line in ((True, False, self._fiq_line), (False, False, self._irq_line),
                                   (True, True, self._vfiq_line), (False, True, self._virq_line)):
            if line:
                target = self.interrupt_target(fiq, virtual)
                if target is not None:
                    self.enter(target, OFFSET_FIQ if fiq else OFFSET_IRQ, None, None)
                    return self.last_entry
        return None
