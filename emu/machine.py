"""A board brought to life: Unicorn CPU, memory map, devices, loaded images, and the run loop.

The machine wires what the board description names (the only place where wiring happens),
services the calls that reach "the platform" rather than the guest (Arm semihosting, the EL3
PSCI conduit), and turns whatever ends a run into a :class:`RunResult` with an exit code:
the guest's own code, or a diagnostic when the guest crashed, looped or was cut off.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import struct
import sys
from typing import TextIO

from unicorn import (
    UC_ARCH_ARM64,
    UC_CTL_IO_WRITE,
    UC_CTL_TLB_FLUSH,
    UC_HOOK_INSN,
    UC_HOOK_MEM_FETCH_UNMAPPED,
    UC_HOOK_MEM_FETCH_PROT,
    UC_HOOK_MEM_READ_PROT,
    UC_HOOK_MEM_READ_UNMAPPED,
    UC_HOOK_MEM_WRITE_PROT,
    UC_HOOK_MEM_WRITE_UNMAPPED,
    UC_MEM_FETCH_PROT,
    UC_MEM_FETCH_UNMAPPED,
    UC_MEM_READ_PROT,
    UC_MEM_WRITE_PROT,
    UC_MEM_WRITE_UNMAPPED,
    UC_MODE_ARM,
    UC_PROT_EXEC,
    Uc,
    UcError,
)
from unicorn.arm64_const import (
    UC_ARM64_INS_SYS,
    UC_ARM64_REG_PC,
    UC_ARM64_REG_X0,
    UC_ARM64_REG_X1,
    UC_ARM64_REG_X2,
    UC_ARM64_REG_X3,
    UC_CPU_ARM64_A53,
)

from .board import Board, load_board
from .board.builder import BoardBuilder
from .console import Console
from .guestview import GuestView
from .runloop import EXIT_GUEST_FAULT, EXIT_TIMEOUT, RunLoop  # noqa: F401 (the exit codes are part of this API)
from .cpu import native
from .cpu.fastreg import CpRegBuf
from .cpu.gpr import X
from .cpu.hooks import HookRegistry
from .cpu.core import EXCP_HVC, EXCP_SMC, EXCP_UDEF, OFFSET_SYNC, VECTOR_NAMES, Cpu, ExceptionEntry
from .cpu.clock import COUNTER_HZ, VirtualClock
from .cpu.esr import describe, insn_address
from .cpu.icount import InstructionCounter
from .cpu.timer_glue import TimerRegisters
from .cpu.psci import MASK64, CoreOff, PowerOff, Psci
from .cpu.semihosting import HLT_F000, SemihostExit, Semihosting, SemihostingConfig
from .devices.generic_timer import GenericTimer
from .devices.irq import IrqLine
from .errors import EmuError
from .loader.image import Image, SymbolTable
from .mem.mmio import Access, MmioBus
from .mem.rombank import RomBank
from .stop import RunResult, Stop
from .smp import MAX_CORES, QUANTUM, Core

_SYS_HANDLER = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)

ESR_UNDEFINED = 1 << 25  # EC 0x00, IL = 1
PPI_HYP_TIMER = 26
PPI_VIRT_TIMER = 27
PPI_PHYS_TIMER = 30


class GuestStopped(Exception):
    def __init__(self, result: RunResult):
        super().__init__(result.reason)
        self.result = result


class Machine:
    #: x0-x3 at the entry, as a boot loader hands them over (a Linux Image: x0 = the device
    #: tree, emu/loader/linux.py); None leaves them at reset.
    boot_registers: tuple[int, int, int, int] | None = None

    def __init__(self, board: Board | str = "virt", *, ram_size: int | None = None,
                 console: Console | None = None, log: TextIO | None = None, time_mode: str = "deterministic",
                 start_el: int = 2, semihosting: SemihostingConfig | None = None, cores: int | None = None,
                 quantum: int | None = None, network=None, network_record: list | None = None):
        self.board = load_board(board) if isinstance(board, str) else board
        # What a TOE on the board talks to (emu/devices/toe.py: LiveNet or ReplayNet; None: no
        # network) and where it records the events it gets (emu/net.py).
        self.network = network
        self.network_record = network_record
        if ram_size is not None:
            self.board = self.board.with_ram_size(ram_size)
        self.console = console or Console()
        self._log = log if log is not None else sys.stderr
        self.symbols = SymbolTable()
        self.images: list[Image] = []
        self.entry: int | None = None
        self.tenants: list = []  # TenantPlacement records from a packed system image
        if start_el not in (1, 2):
            raise EmuError(f"cannot start at EL{start_el} (1 or 2)")
        self.start_el = start_el

        n = self.board.cores if cores is None else cores
        if not 1 <= n <= MAX_CORES:
            raise EmuError(f"cannot build {n} cores (1 to {MAX_CORES})")
        if n != self.board.cores:
            self.board = self.board.with_cores(n)
        self.quantum = QUANTUM if quantum is None else quantum
        if self.quantum < 1:
            raise EmuError(f"a quantum of {self.quantum} instructions: it must be at least 1")
        self.hooks = HookRegistry()
        self.cores: list[Core] = []
        for index in range(n):
            uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
            uc.ctl_set_cpu_model(UC_CPU_ARM64_A53)
            self.hooks.attach(uc)
            self.cores.append(Core(index, uc, MmioBus(uc, lambda va: self.read_virtual(va, 4))))
        self.core = self.cores[0]   # the core that runs now, or ran last; what tools look at
        self._ram_backing: list[mmap.mmap] = []
        self._other_backing: list[mmap.mmap] = []
        self.rom_banks: list[RomBank] = []
        self._rom_remap = False
        self._rom_fetch = False  # an instruction fetch found a flash window to map as memory
        self.builder = BoardBuilder(self)
        self.loop = RunLoop(self)
        self.view = GuestView(self)
        for region in self.board.memory.values():
            self.builder.map_region(region)

        for core in self.cores:
            core.cpu = Cpu(core.uc, core.index, self.hooks)
            core.cpu.on_sync = self._on_sync
            core.cpu.on_loop = self._on_loop
            core.cpu.on_interrupt = lambda core=core: self.loop.on_interrupt(core)
            if start_el == 1:
                core.cpu.platform_excps = core.cpu.platform_excps | {EXCP_HVC}
        self.cores[0].powered = True
        self._running = False
        self._irq_stop = False
        self._run_thread: int | None = None       # the thread inside run(), if any
        self._pause_request: Stop | None = None    # a pause asked from another thread
        # PSCI as QEMU's virt provides it: through SMC when booted at EL2, HVC at EL1.
        self.psci = Psci(cores=n, start_core=self._start_core)
        self._psci_conduit = EXCP_SMC if start_el == 2 else EXCP_HVC
        self.semihosting_config = semihosting or SemihostingConfig()
        self.semihosting = Semihosting(self.read_guest, self.console.write)

        # Virtual time: the machine owns the counter and the generic timers (emu/cpu/clock.py).
        # Every core is always counted: the same native block hook catches a branch to a
        # misaligned PC. The clock follows the count of the core that runs (emu/smp.py).
        self.clock = VirtualClock(time_mode)
        for core in self.cores:
            core.icount = InstructionCounter(core.uc, self.hooks,
                                             max((r.base + r.size for r in self.board.memory.values()), default=0))
            core.ppi_lines = {intid: IrqLine(None, f"cpu{core.index}.ppi{intid}")
                              for intid in (PPI_HYP_TIMER, PPI_VIRT_TIMER, PPI_PHYS_TIMER)}
            core.timer = GenericTimer(self.clock, COUNTER_HZ, core.ppi_lines[PPI_PHYS_TIMER],
                                      core.ppi_lines[PPI_VIRT_TIMER], core.ppi_lines[PPI_HYP_TIMER])
            core.timer_regs = TimerRegisters(core.uc, core.timer, self.loop.timer_reprogrammed, self.loop.hook_error,
                                             highest_el=start_el, hooks=self.hooks)
            if n > 1:
                core.timer_regs.set_mpidr(core.mpidr)
        self.loop.follow_clock(self.cores[0])
        self._budget_end: int | None = None
        self._time_limit: int | None = None

        self.devices: dict[str, object] = {}
        self.timed_devices: list = []
        self.irq_lines: dict[int, IrqLine] = {}
        self.gic = None
        if self.board.interrupt_controller is not None:
            self.builder.attach_gic(self.board.interrupt_controller)
        for spec in self.board.devices:
            self.builder.attach_device(spec)
        for core in self.cores:
            for intid, line in core.ppi_lines.items():
                self.builder.connect_irq(intid, line, cpu=core.index)
        if n > 1:
            # Cache and TLB maintenance that the architecture broadcasts to the inner-shareable
            # domain reaches the other cores' Unicorn instances (emu/smp.py).
            # A native filter hands only IC and TLBI to Python (emu/cpu/native.py).
            self._sys_handler = _SYS_HANDLER(self._on_sys)
            address = ctypes.cast(self._sys_handler, ctypes.c_void_p).value
            self._sys_hooks = []
            for core in self.cores:
                if native.available():
                    flt = native.SysregFilter(address)
                    hook = self.hooks.add_native(core.uc, UC_HOOK_INSN, native.sys_hook_address(),
                                                 ctypes.addressof(flt), insn=UC_ARM64_INS_SYS, keep=flt)
                else:
                    hook = self.hooks.add_native(core.uc, UC_HOOK_INSN, address, None, insn=UC_ARM64_INS_SYS)
                self._sys_hooks.append(hook)

        self._unmapped: tuple[str, int, int] | None = None
        self._protected: tuple[str, int, int] | None = None
        # Bounded to leave RAM out: Unicorn 2.1.4 keeps every store to a page that any memory
        # hook covers on its slow path (it never marks the page's TLB entry clean), which made
        # stores to RAM several times slower. RAM has every permission and no holes, so these
        # hooks could never fire there anyway.
        for begin, end in self.builder.outside_ram():
            self.hooks.add(UC_HOOK_MEM_READ_UNMAPPED | UC_HOOK_MEM_WRITE_UNMAPPED | UC_HOOK_MEM_FETCH_UNMAPPED,
                           self._on_unmapped, begin=begin, end=end)
            self.hooks.add(UC_HOOK_MEM_READ_PROT | UC_HOOK_MEM_WRITE_PROT | UC_HOOK_MEM_FETCH_PROT, self._on_protected,
                           begin=begin, end=end)
        self._result: RunResult | None = None
        self.log_kinds: set[str] = set()  # device log kinds to show: "guest_error", "unimp"

    # -- construction ---------------------------------------------------------------------------

    def _rom_bank_at(self, address: int) -> RomBank | None:
        return next((b for b in self.rom_banks if b.base <= address < b.base + b.size), None)

    def _rom_bank_changed(self) -> None:
        """A ROM bank needs settling. Unicorn's mapping cannot change in the middle of the
        access, so stop right after it and settle in the run loop; outside a guest access
        (a debugger, a test poking the device) settle at once."""
        self._rom_remap = True
        if not self.mmio.stop_after_access():
            self._settle_rom_banks()

    def _settle_rom_banks(self) -> None:
        self._rom_remap = False
        for bank in self.rom_banks:
            bank.settle()

    def device_log(self, kind: str, source: str, message: str) -> None:
        # Shown only when asked for, as QEMU's -d guest_errors,unimp.
        if kind in self.log_kinds:
            self._log.write(f"emu: {source}: {kind}: {message}\n")

    # -- images ---------------------------------------------------------------------------------

    def load(self, image: Image) -> None:
        """Place an image in RAM or ROM (an ELF segment in flash goes there, as QEMU loads it).
        The first image loaded gives the entry point."""
        from .loader.raw import check_placement

        regions = {("RAM" if name == "ram" else name): (r.base, r.size) for name, r in self.board.memory.items()}
        check_placement(image, {"RAM": regions.pop("RAM"), **regions} if "RAM" in regions else regions)
        for seg in image.segments:
            data = seg.data + bytes(seg.memsz - len(seg.data))
            self.write_phys(seg.addr, data)
        self.symbols.add(image.symbols)
        self.images.append(image)
        tenants = getattr(image, "tenants", None)
        if tenants is None:
            tenants = _placements_of(image)
        self.tenants.extend(tenants)
        if self.entry is None:
            self.entry = image.entry

    def ram_view(self) -> memoryview:
        """RAM as a read-only view of the host memory behind it (snapshots)."""
        return memoryview(self._ram_backing[0]).toreadonly()

    def symbols_dict(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for image in self.images:
            out.update(image.symbols)
        return out

    def restore_symbols(self, symbols: dict[str, int], tenants: list[dict]) -> None:
        from .loader.placements import TenantPlacement

        self.symbols.add(symbols)
        self.images.append(Image("snapshot", self.entry or 0, [], symbols))
        self.tenants = [TenantPlacement(**t) for t in tenants]

    def mmio_devices(self) -> list[tuple[str, object]]:
        """Every MMIO device model, by name (GIC frames as gic.gicd, ...)."""
        out = list(self.devices.items())
        if self.gic is not None:
            out += [(f"gic.{f}", getattr(self.gic, f)) for f in self.board.interrupt_controller.frames]
        return out

    # -- the guest's memory as tools see it (emu/guestview.py) -----------------------------------

    def tenant_name(self) -> str | None:
        return self.view.tenant_name()

    def is_memory(self, pa: int, size: int) -> bool:
        return self.view.is_memory(pa, size)

    def read_phys(self, addr: int, size: int) -> bytes:
        return self.view.read_phys(addr, size)

    def write_phys(self, addr: int, data: bytes) -> None:
        self.view.write_phys(addr, data)

    def translate(self, va: int, el: int | None = None) -> int | None:
        return self.view.translate(va, el)

    def read_guest(self, va: int, size: int, el: int | None = None, physical: bool = False) -> bytes:
        return self.view.read_guest(va, size, el, physical)

    def read_virtual(self, addr: int, size: int) -> bytes:
        return self.view.read_virtual(addr, size)

    def symbolize(self, addr: int, el: int | None = None) -> str:
        return self.view.symbolize(addr, el)

    def disassemble(self, addr: int, el: int | None = None) -> str:
        return self.view.disassemble(addr, el)

    def _on_sync(self, intno: int, syndrome: int, target: int) -> bool:
        uc = self.uc
        if intno == EXCP_UDEF:
            pc = uc.reg_read(UC_ARM64_REG_PC)
            try:
                insn = struct.unpack("<I", self.read_virtual(pc, 4))[0]
            except (EmuError, UcError):
                return False
            if insn == HLT_F000 and self.semihosting_config.allows(self.cpu.el, self.start_el):
                res = self.semihosting.call(uc.reg_read(UC_ARM64_REG_X0) & 0xFFFFFFFF, uc.reg_read(UC_ARM64_REG_X1))
                if isinstance(res, SemihostExit):
                    self.loop.finish(RunResult(res.code, Stop.SEMIHOST_EXIT, text=f"semihosting exit ({res.code})"))
                    return True
                uc.reg_write(UC_ARM64_REG_X0, res)
                uc.reg_write(UC_ARM64_REG_PC, pc + 4)
                return True
            return False
        if intno == self._psci_conduit and (intno == EXCP_HVC or target == 3):
            self._psci_call()
            return True
        if intno == EXCP_SMC and target == 3:
            # Booted at EL1 there is no EL3 and HVC is the conduit: SMC is UNDEFINED (QEMU).
            uc.reg_write(UC_ARM64_REG_PC, uc.reg_read(UC_ARM64_REG_PC) - 4)
            self.cpu.enter(self.cpu.el or 1, OFFSET_SYNC, ESR_UNDEFINED, None)
            return True
        if target == 3:
            self.loop.fault(f"exception to EL3, which this board has no firmware for: {describe(syndrome)}")
            return True
        return False

    def _psci_call(self) -> None:
        """A PSCI call through the conduit: arguments in X0-X3, the result in X0 (DEN 0022)."""
        x0, x1, x2, x3 = (self.uc.reg_read(r) for r in (UC_ARM64_REG_X0, UC_ARM64_REG_X1, UC_ARM64_REG_X2,
                                                        UC_ARM64_REG_X3))
        try:
            self.uc.reg_write(UC_ARM64_REG_X0, self.psci.call(x0, x1, x2, x3, caller=self.core.index) & MASK64)
        except PowerOff as off:
            self.loop.finish(RunResult(0, Stop.POWER_OFF, text=f"PSCI {off}"))
        except CoreOff:
            if not any(c.powered for c in self.cores if c is not self.core):
                self.loop.fault(f"PSCI CPU_OFF turned off the last running core, {self.loop.where()}")
                return
            self.core.powered = False   # off until a CPU_ON; the call does not return
            self.uc.emu_stop()

    def _on_loop(self, e: ExceptionEntry) -> None:
        vector = f"{VECTOR_NAMES.get(e.vector_offset, hex(e.vector_offset))} (VBAR_EL{e.to_el} = {e.vector - e.vector_offset:#x})"
        how = (f"re-enters its own vector {vector}" if e.vector <= e.elr < e.vector + 0x80
               else f"is raised again and again by the handler entered through {vector}")
        detail = f"exception loop at EL{e.to_el}: {describe(e.esr)} at {e.elr:#x} <{self.symbolize(e.elr, e.to_el)}> {how}"
        o = self.cpu.loop_origin_entry
        if o is not None:
            at = insn_address(o.esr, o.elr) if o.kind == "sync" else o.elr
            detail += (f"; the loop began with {describe(o.esr) if o.kind == 'sync' else o.kind.upper()} "
                       f"at {at:#x} <{self.symbolize(at, o.from_el)}> in EL{o.from_el}")
        self.loop.fault(detail)

    def _on_unmapped(self, uc, access, address, size, value, _ud) -> bool:
        kind = {UC_MEM_FETCH_UNMAPPED: "fetch", UC_MEM_WRITE_UNMAPPED: "write"}.get(access, "read")
        self._unmapped = (kind, address, size)
        return False

    def _on_protected(self, uc, access, address, size, value, _ud) -> bool:
        bank = self._rom_bank_at(address) if access != UC_MEM_READ_PROT else None
        if bank is not None and access == UC_MEM_FETCH_PROT:
            # Code in a ROM window mapped as MMIO: in ROMD mode, map the window as memory and
            # fetch again (the run loop does both: Unicorn cannot remap inside the fetch).
            index = bank.window_of(address)
            if bank.device.romd and bank.perms & UC_PROT_EXEC and not bank.memory[index]:
                bank.wanted.add(index)
                self._rom_fetch = self._rom_remap = True
                return False
            bank = None
        if bank is not None:
            # A write to a ROM device in ROMD mode is a command to it (QEMU's romd regions
            # trap writes the same way). Returning True should drop the store, but it may
            # still reach the array: keep the bytes the device says are there, and stop
            # right after the access (it is the current one) to put them back.
            offset = address - bank.base
            self.mmio.current = Access(bank, address, offset, size, True)
            try:
                bank.device.write(offset, size, value)
                bank.keep.append((offset, bytes(bank.backing[offset:min(offset + size, bank.size)])))
                self._rom_bank_changed()
            finally:
                self.mmio.current = None
            return True
        # A board region without that permission (a write to flash, a fetch from a region
        # without "x"): remembered so the diagnostic can say what, where and from which PC.
        kind = {UC_MEM_FETCH_PROT: "fetch", UC_MEM_WRITE_PROT: "write"}.get(access, "read")
        self._protected = (kind, address, size)
        return False

    # -- running (emu/runloop.py) ------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self.loop.started

    def start(self) -> None:
        """Put core 0 in its reset state at the entry point, once, without running anything."""
        self.loop.start()

    def run(self, max_insns: int | None = None, pause_at_limit: bool = False,
            until_counter: int | None = None) -> RunResult:
        """Run until the guest ends the run or a limit or a pause stops it (RunLoop.run)."""
        return self.loop.run(max_insns, pause_at_limit, until_counter)

    def pause(self, reason: Stop = Stop.PAUSED) -> None:
        """Stop the run at the next safe point; safe from hooks and other threads (RunLoop.pause)."""
        self.loop.pause(reason)

    def focus(self, index: int) -> None:
        """Let core ``index`` run next (RunLoop.focus)."""
        self.loop.focus(index)

    # -- cores ----------------------------------------------------------------------------------
    # What a tool or a hook means by "the CPU" is the core that runs now (or ran last).

    @property
    def uc(self) -> Uc:
        return self.core.uc

    @property
    def cpu(self) -> Cpu:
        return self.core.cpu

    @property
    def mmio(self) -> MmioBus:
        return self.core.mmio

    @property
    def icount(self) -> InstructionCounter:
        return self.core.icount

    @property
    def timer(self) -> GenericTimer:
        return self.core.timer

    @property
    def timer_regs(self) -> TimerRegisters:
        return self.core.timer_regs

    @property
    def ppi_lines(self) -> dict[int, IrqLine]:
        return self.core.ppi_lines

    def add_observer(self, fn) -> None:
        """Call ``fn(entry)`` at every exception entry, on every core (Cpu.observers)."""
        for core in self.cores:
            if fn not in core.cpu.observers:
                core.cpu.observers.append(fn)

    def remove_observer(self, fn) -> None:
        for core in self.cores:
            if fn in core.cpu.observers:
                core.cpu.observers.remove(fn)

    @contextlib.contextmanager
    def viewing(self, index: int):
        """Tools look at core ``index`` (its registers, its EL and translation regime) inside the
        ``with`` block, between runs; the core that runs next is not changed."""
        saved, self.core = self.core, self.cores[index]
        try:
            yield self.core
        finally:
            self.core = saved

    @property
    def retired(self) -> int:
        """Instructions retired by every core."""
        return sum(c.icount.retired for c in self.cores)

    def _start_core(self, index: int, entry: int, context: int) -> None:
        """PSCI CPU_ON: core ``index`` starts at ``entry`` at the boot EL, x0 = ``context`` and the
        other general registers 0, as QEMU's arm_set_cpu_on resets it."""
        core = self.cores[index]
        cpu = core.cpu
        if self.start_el == 2:
            cpu.reset_to_el2(entry)
        else:
            cpu.reset_to_el1(entry)
        for n in range(31):
            core.uc.reg_write(X[n], context if n == 0 else 0)
        cpu.write_sysreg("VMPIDR_EL2", core.mpidr)
        core.powered, core.waiting = True, False

    def _on_sys(self, _uch, _reg, cp_ptr, _ud) -> int:
        """A SYS instruction (IC or TLBI) on a machine with several cores. Instruction cache
        invalidation to the point of unification and inner-shareable TLB invalidation reach
        every core (the Arm ARM broadcasts them in the inner-shareable domain); the instruction
        itself then runs natively on this core, the one that runs now."""
        try:
            uc = self.core.uc
            cp_reg = CpRegBuf.from_address(cp_ptr)
            crn, crm, op1 = cp_reg.crn, cp_reg.crm, cp_reg.op1
            if crn == 7 and crm in (1, 5) and op1 in (0, 3):          # IC IALLUIS, IALLU, IVAU
                for core in self.cores:
                    if core.uc is not uc:
                        core.uc.ctl_flush_tb()
            elif crn == 8 and op1 in (0, 4, 6) and crm in (3, 0, 1):  # TLBI ...IS (and pre-8.4 forms)
                for core in self.cores:
                    if core.uc is not uc:
                        core.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)
        except BaseException as err:   # must not unwind through C
            self.loop.hook_error(err)
        return 0

    # -- running ----------------------------------------------------------------------------------



def _placements_of(image: Image) -> list:
    """Tenant placements recorded in a packed system image's manifest blob, if it has one."""
    try:
        from .loader.placements import read_placements

        return read_placements(image)
    except (EmuError, OSError):
        return []
