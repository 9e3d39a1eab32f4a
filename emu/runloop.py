"""The run loop: it runs the machine's cores in turn until something ends the run.

Each step gives the current core one ``emu_start`` with a stop armed at its next timer
deadline, the end of its turn or the instruction budget, then deals with why it stopped: an
interrupt to take, a flash window to remap, a trapped timer access, a WFI, a WFE, the end of
the run. Between steps it chooses the core that runs next (emu/smp.py: turns of ``quantum``
instructions, WFI and WFE, skipping time when every core waits), and turns Unicorn's errors
into diagnostics that name the address, the PC and what the guest was doing.

The run's state (its result, the budget, the pause request) is the machine's, so that hooks
and tools that hold the machine see it.
"""

from __future__ import annotations

import struct
import threading
from typing import TYPE_CHECKING

from unicorn import UC_ERR_FETCH_UNMAPPED, UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED, UcError
from unicorn.arm64_const import UC_ARM64_REG_PC, UC_ARM64_REG_X0, UC_ARM64_REG_X1, UC_ARM64_REG_X2, UC_ARM64_REG_X3

from .cpu.core import VECTOR_NAMES
from .cpu.esr import describe, insn_address
from .cpu.native import SEVL, WFE
from .errors import EmuError
from .smp import Core
from .stop import RunResult, Stop

if TYPE_CHECKING:
    from .machine import Machine

EXIT_TIMEOUT = 124      # --max-insns reached before the guest ended the run
EXIT_GUEST_FAULT = 125  # the emulator stopped a guest that crashed or looped
WFI = 0xD503207F


class RunLoop:
    def __init__(self, machine: "Machine"):
        self.m = machine

    def follow_clock(self, core: Core) -> None:
        self.m.clock.follow(lambda: core.icount.retired, core.icount.count_address)

    def switch_to(self, core: Core) -> None:
        """Give ``core`` its turn: it becomes the current core and the clock counts its
        instructions from here (emu/smp.py)."""
        if core is not self.m.core:
            # Only the core that runs reads the counter natively: bring its view up to date.
            self.m.clock.follow(lambda: core.icount.retired, core.icount.count_address, notify=False)
            self.m.core = core
            core.timer_regs.sync_clock_view()
        core.turn_end = core.icount.retired + self.m.quantum

    def focus(self, index: int) -> None:
        """Let core ``index`` run next, with a fresh turn (a debugger stepping that thread). A
        core that is off stays off: the next run goes on as it would have."""
        core = self.m.cores[index]
        if core.powered:
            core.waiting = False
            self.switch_to(core)

    def hook_error(self, err: BaseException) -> None:
        self.m.cpu.pending_error = err
        self.m.uc.emu_stop()

    def timer_reprogrammed(self) -> None:
        # A timer write may bring the next deadline forward: re-arm the stop for it.
        if self.m._running:
            self._arm_deadline()

    def _arm_deadline(self) -> float:
        """Arrange for the current core to stop at its next timer deadline, the end of its
        turn or the instruction budget.

        Returns the wall-clock timeout in microseconds for realtime mode (0: none)."""
        deadline = self._next_deadline()
        cpu, icount = self.m.cpu, self.m.icount
        # An interrupt pending but masked (PSTATE.I/F, routing, the current EL) is taken at the
        # first block boundary after the instruction that unmasks it (an ERET to a lower EL,
        # MSR DAIFClr), which ends its block: stop after such blocks (emu/cpu/native.py).
        icount.watch_unmask = cpu.interrupt_pending
        if cpu.interrupt_pending and cpu.interrupt_takeable:
            icount.stop_soon()  # takeable already (asked from a hook): the run loop takes it
            return 0
        n = self.m.clock.insns_until(deadline) if deadline is not None and self.m.clock.mode == "deterministic" else None
        if self.m._budget_end is not None:
            left = max(0, self.m._budget_end - self.m.retired)
            n = left if n is None else min(n, left)
        if len(self.m.cores) > 1:
            left = max(0, self.m.core.turn_end - icount.retired)
            n = left if n is None else min(n, left)
        icount.stop_after(n)
        if self.m.clock.mode == "realtime" and deadline is not None:
            return max(1, int(self.m.clock.seconds_until(deadline) * 1e6))
        return 0

    def _update_timers(self) -> None:
        """Bring every timer's outputs up to the counter: every core's generic timers and any
        device that keeps time."""
        m = self.m
        m.timer.update()
        if len(m.cores) > 1:
            # Another core's timers change only by its own writes, or when the counter reaches
            # one of their deadlines; only the second can happen while it does not run.
            now = m.clock.now()
            for core in m.cores:
                if core is not m.core:
                    at = core.timer.next_deadline()
                    if at is not None and at <= now:
                        core.timer.update()
        for dev in m.timed_devices:
            dev.update()

    def _next_deadline(self, cores: list[Core] | None = None) -> int | None:
        """The earliest counter value something waits for: a timer of ``cores`` (the current
        core), a device that keeps time, or the run's time limit."""
        deadline = None
        for core in cores or [self.m.core]:
            at = core.timer.next_deadline()
            if at is not None:
                deadline = at if deadline is None else min(deadline, at)
        for dev in self.m.timed_devices:
            at = dev.next_deadline()
            if at is not None:
                deadline = at if deadline is None else min(deadline, at)
        if self.m._time_limit is not None:
            deadline = self.m._time_limit if deadline is None else min(deadline, self.m._time_limit)
        return deadline

    def on_interrupt(self, core: Core) -> None:
        # A device raised one of ``core``'s interrupt lines. If that core is running (an MMIO
        # write of its own raised it), stop after the current instruction so the run loop can
        # take it at once; another core sees it when its turn comes.
        core.waiting = False
        if self.m._running and core is self.m.core:
            self.m._irq_stop = True
            if not self.m.mmio.stop_after_access():
                self.m.uc.emu_stop()

    def pause(self, reason: Stop = Stop.PAUSED) -> None:
        """Stop the run at the next safe point; run() returns a paused RunResult and a later
        run() resumes. Safe to call from hooks, observers and other threads (Ctrl-C).

        From another thread than the one running, the stop is at the next translation-block
        boundary, never inside a device access: that access may be finishing as we look, and
        the run loop would then complete an instruction that already completed. A pause from
        outside run() is dropped (callers repeat it until the run returns): it must not stop a
        run that starts meanwhile at whatever instruction it has reached."""
        if threading.get_ident() != self.m._run_thread:
            self.m._pause_request = reason
            self.m.icount.stop_soon()
            return
        self.finish(RunResult(None, reason))

    def finish(self, result: RunResult) -> None:
        if self.m._result is None:
            self.m._result = result
        # Inside a device access, stop right after it (the run loop completes the instruction).
        if not self.m.mmio.stop_after_access():
            self.m.uc.emu_stop()

    def fault(self, what: str) -> None:
        self.finish(RunResult(EXIT_GUEST_FAULT, Stop.GUEST_FAULT, what))

    def where(self) -> str:
        pc = self.m.cpu.pc
        el = self.m.cpu.el
        return f"PC {pc:#x} <{self.m.symbolize(pc, el)}> at EL{el}"

    @property
    def started(self) -> bool:
        return getattr(self.m, "_started", False)

    def start(self) -> None:
        """Put the core in its reset state (EL2h or EL1h at the entry point), once, without
        executing anything: what a debugger attaching before the first instruction sees."""
        if self.started:
            return
        if self.m.entry is None:
            raise EmuError("nothing loaded")
        if self.m.start_el == 2:
            self.m.cpu.reset_to_el2(self.m.entry)
        else:
            self.m.cpu.reset_to_el1(self.m.entry)
        for reg, value in zip((UC_ARM64_REG_X0, UC_ARM64_REG_X1, UC_ARM64_REG_X2, UC_ARM64_REG_X3),
                              self.m.boot_registers or ()):
            self.m.uc.reg_write(reg, value)
        self.m._started = True

    def run(self, max_insns: int | None = None, pause_at_limit: bool = False,
            until_counter: int | None = None) -> RunResult:
        """Run from the entry point (or where the last run stopped) until the guest ends the run.

        ``max_insns`` (instructions of every core) ends the run with EXIT_TIMEOUT, or pauses it
        with ``pause_at_limit``. ``until_counter`` pauses the run once virtual time (the counter)
        reaches that value."""
        self.m._time_limit = until_counter
        if self.m.entry is None:
            raise EmuError("nothing loaded")
        self.start()
        self.m._result = None
        self.m._pause_request = None
        self.m._run_thread = threading.get_ident()
        self.m._budget_end = self.m.retired + max_insns if max_insns else None
        for core in self.m.cores:
            # With one core a turn means nothing: no stop for WFE, which Unicorn runs as a NOP.
            core.icount.watch_wfe = len(self.m.cores) > 1
        try:
            # Timer outputs follow the counter: brought up to date here, after every step and
            # after every skip of time (nothing else moves the counter).
            self._update_timers()
            while self.m._result is None:
                if self.m._pause_request is not None:
                    self.m._result = RunResult(None, self.m._pause_request)
                    break
                if not self._schedule():
                    self._update_timers()
                    continue  # time moved on to the next deadline: look again
                if self.m._result is not None:
                    break
                self._step(max_insns, pause_at_limit)
        finally:
            self.m._run_thread = None
            self.m.console.flush()
        self.m.last_result = self.m._result
        return self.m._result

    def _schedule(self) -> bool:
        """Choose the core that runs next: the current one while its turn lasts, then the next
        powered core in order that is not waiting in WFI (or has an interrupt pending, which
        wakes WFI, masked or not: D1.16.2). With every core waiting, skip time to the next
        deadline and return False; with nothing that could wake one, end the run."""
        core = self.m.core
        if core.powered and (not core.waiting or core.cpu.interrupt_pending) \
                and (len(self.m.cores) == 1 or core.icount.retired < core.turn_end):
            core.waiting = False
            return True
        n = len(self.m.cores)
        for step in range(1, n + 1):
            other = self.m.cores[(core.index + step) % n]
            if other.powered and (not other.waiting or other.cpu.interrupt_pending):
                other.waiting = False
                self.switch_to(other)
                return True
        powered = [c for c in self.m.cores if c.powered]
        deadline = self._next_deadline(powered)
        if deadline is not None:
            # Nothing to do until then: skip the wait. The waiting cores wake and go on after
            # their WFI, interrupt or not (a WFI may complete early; the guest looks again).
            self.m.clock.skip_to(deadline)
            for c in powered:
                c.waiting = False
            if self.m._time_limit is not None and self.m.clock.now() >= self.m._time_limit:
                self.m._result = RunResult(None, Stop.TIME_LIMIT)
                return True
            return False
        # No interrupt source can wake a core: the run cannot progress.
        self.m._result = RunResult(EXIT_GUEST_FAULT, Stop.GUEST_FAULT,
                                 f"WFI with no interrupt that could wake it, {self.where()}")
        return True

    def _step(self, max_insns: int | None, pause_at_limit: bool) -> None:
        """Run the current core until something stops it (one emu_start), then deal with why."""
        m = self.m
        core = m.core
        uc, cpu, icount = core.uc, core.cpu, core.icount
        if cpu.interrupt_pending:
            cpu.deliver_interrupts()
        pc = cpu.pc
        if pc & 3:
            # A branch, ERET or debugger left the PC misaligned; Unicorn would decode
            # from there (and emu_start(1, until=1) would not even start).
            cpu.take_pc_alignment_fault()
            return
        m._unmapped = None
        m._protected = None
        timeout_us = self._arm_deadline()
        if m._pause_request is not None:
            icount.stop_soon()  # asked while the deadline was being armed
        icount.forget_last_block()
        m._running = True
        try:
            uc.emu_start(pc, 1, timeout=timeout_us)
        except UcError as err:
            if not m._rom_fetch:
                m._result = self._unicorn_error(err)
                return
            m._rom_fetch = False  # settled below; the fetch is made again
        finally:
            m._running = False
        core.mmio.finish_interrupted_access()
        if m._rom_remap:
            m._settle_rom_banks()  # a flash command was written
        pc = cpu.pc
        icount.settle(pc)
        if icount.wfe_set_full:
            icount.grow_wfe_set()  # stopped before a block that ends in WFE: it is translated again
        trap, core.timer_regs.pending_trap = core.timer_regs.pending_trap, None
        if trap is not None:
            # A timer register access that CNTHCTL_EL2/CNTKCTL_EL1 traps: enter the
            # exception with the MRS/MSR as the preferred return address.
            target, esr, at = trap
            uc.reg_write(UC_ARM64_REG_PC, at)
            cpu.enter(target, 0, esr, None)
            pc = cpu.pc
        if cpu.pending_error is not None:
            err, cpu.pending_error = cpu.pending_error, None
            raise err
        last = self._insn_before(pc)
        if last == WFE and len(m.cores) > 1 and not cpu.interrupt_takeable and self._insn_before(pc, 2) != SEVL:
            # WFE ends the turn, the core staying runnable: it waits for another core's SEV or
            # store, and those can only come in other cores' turns. Ended here, before any reason
            # to stop the run is looked at, so that a run paused or saved right after a WFE goes
            # on as one never paused (a snapshot keeps the turn). A WFE completes at once, and the
            # core goes on, with an unmasked interrupt pending (a wake-up event, Arm ARM D1.16.1)
            # or right after SEVL, which set the event register. emu/cpu/native.py stops the
            # core after every WFE not after SEVL, where no other stop came first.
            core.turn_end = icount.retired
        if m._result is not None:
            return
        self._update_timers()
        if m._irq_stop:
            m._irq_stop = False
            return  # stopped to take an interrupt
        if m._time_limit is not None and m.clock.now() >= m._time_limit:
            m._result = RunResult(None, Stop.TIME_LIMIT)
        elif m._budget_end is not None and m.retired >= m._budget_end:
            if pause_at_limit:
                m._result = RunResult(None, Stop.INSN_PAUSE, text=f"paused after {max_insns} instructions")
            else:
                m._result = RunResult(EXIT_TIMEOUT, Stop.INSN_LIMIT,
                                      f"stopped after {max_insns} instructions, {self.where()}")
        elif core.powered and last == WFI and not cpu.interrupt_pending:
            core.waiting = True  # until an interrupt is pending for it

    def _insn_before(self, pc: int, n: int = 1) -> int | None:
        """The ``n``th last instruction of the block counted last, if the core stopped just after
        that block: where a WFI or a WFE leaves it, since both end their translation block.
        Elsewhere None, without reading the instruction through stage 1."""
        if not self.m.icount.ends_last_block(pc) or pc - 4 * n < self.m.icount.last_block_start:
            return None
        pa = self.m.cpu.fetch_pa(pc - 4 * n)
        try:
            return None if pa is None else struct.unpack("<I", self.m.read_phys(pa, 4))[0]
        except EmuError:
            return None

    def _unicorn_error(self, err: UcError) -> RunResult:
        where = self.where()
        if self.m._protected is not None:
            kind, addr, size = self.m._protected
            region = next((name for name, r in self.m.board.memory.items() if r.base <= addr < r.base + r.size), "?")
            what = {"fetch": "instruction fetch from", "read": f"{size}-byte read from",
                    "write": f"{size}-byte write to"}[kind]
            return RunResult(EXIT_GUEST_FAULT, Stop.GUEST_FAULT,
                             f"{what} {addr:#x}, which the board's {region} does not allow "
                             f"({self.m.board.memory[region].access if region in self.m.board.memory else '?'}), {where}")
        if self.m._unmapped is not None:
            kind, addr, size = self.m._unmapped
            what = {"fetch": "instruction fetch from", "read": f"{size}-byte read from",
                    "write": f"{size}-byte write to"}[kind]
            detail = f"{what} unmapped address {addr:#x}, {where}"
            last = self.m.cpu.last_entry
            if kind == "fetch" and last is not None and addr == last.vector:
                at = insn_address(last.esr, last.elr)
                detail += (f"; it was entering {VECTOR_NAMES.get(last.vector_offset, '?')} for "
                           f"{describe(last.esr)} from {at:#x} <{self.m.symbolize(at, last.from_el)}> "
                           f"(VBAR_EL{last.to_el} = {last.vector - last.vector_offset:#x})")
            return RunResult(EXIT_GUEST_FAULT, Stop.GUEST_FAULT, detail)
        if err.errno in (UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED, UC_ERR_FETCH_UNMAPPED):
            return RunResult(EXIT_GUEST_FAULT, Stop.GUEST_FAULT, f"access to unmapped memory, {where}")
        return RunResult(EXIT_GUEST_FAULT, Stop.GUEST_FAULT, f"{err}, {where}")
