"""The CPU glue: architectural exception entry, interrupt routing, and how runs end."""

from __future__ import annotations

import pytest
from conftest import EXIT_WITH_X0, boot

from emu.cpu.semihosting import SemihostingConfig
from emu.machine import EXIT_GUEST_FAULT, EXIT_TIMEOUT
from emu.stop import Stop

# Snippets that end at EL1 call semihosting there, below the EL the machine boots at: they
# opt in, as a user would (QEMU's -semihosting-config userspace=on).
EL1_EXIT = SemihostingConfig(lower_els=True)

# Drop from EL2 to EL1 at `el1`, with vectors at `vectors` (0x800 aligned) and distinct stacks.
TO_EL1 = """
    .include "board.inc"
    .include "smccc.inc"
_start:
    adr     x0, vectors
    msr     vbar_el2, x0
    ldr     x0, =0x40300000
    mov     sp, x0
    ldr     x0, =0x40280000
    msr     sp_el1, x0
    mov     x0, #(1 << 31)
    msr     hcr_el2, x0
    mov     x0, #0x3c5
    msr     spsr_el2, x0
    adr     x0, el1
    msr     elr_el2, x0
    eret
"""


def test_hvc_from_el1_enters_el2_lower_a64_vector_with_syndrome_and_banked_sp(asm_image):
    img = asm_image(TO_EL1 + """
el1:
    mov     x19, sp
    mov     x1, #0x55
    msr     nzcv, x1
    hvc     #0x1234
hvc_ret:
    mov     x20, sp
    b       .
    .balign 0x800
vectors:
    .skip   0x400
sync_lower_a64:
    mrs     x2, esr_el2
    mrs     x3, elr_el2
    mrs     x4, spsr_el2
    mrs     x5, CurrentEL
    mov     x6, sp
    mrs     x0, daif
    mov     x7, x0
    mov     x0, #0
""" + EXIT_WITH_X0)
    m, result, _ = boot(img)
    assert result.exit_code == 0, result
    r = m.uc.reg_read
    from unicorn.arm64_const import UC_ARM64_REG_X2, UC_ARM64_REG_X3, UC_ARM64_REG_X4, UC_ARM64_REG_X5, UC_ARM64_REG_X6, UC_ARM64_REG_X7
    assert r(UC_ARM64_REG_X2) == 0x5A001234          # EC_HVC64, IL, imm16
    assert r(UC_ARM64_REG_X3) == img.symbols["hvc_ret"]  # preferred return: after the HVC
    assert r(UC_ARM64_REG_X4) & 0xF == 0b0101        # SPSR.M = EL1h
    assert r(UC_ARM64_REG_X5) == 2 << 2              # CurrentEL = EL2
    assert r(UC_ARM64_REG_X6) == 0x40300000          # SP_EL2 selected
    assert r(UC_ARM64_REG_X7) == 0x3C0               # DAIF masked on entry


def test_eret_returns_to_el1_with_its_own_stack(asm_image):
    img = asm_image(TO_EL1 + """
el1:
    hvc     #1
    mov     x0, sp
    ldr     x1, =0x40280000
    sub     x0, x0, x1                 // 0 when SP_EL1 survived the round trip
    hvc     #2
    .balign 0x800
vectors:
    .skip   0x400
sync_lower_a64:
    mrs     x9, esr_el2
    and     x9, x9, #0xffff
    cmp     x9, #2
    b.eq    exit_x0
    eret
""" + EXIT_WITH_X0)
    _, result, _ = boot(img)
    assert result.exit_code == 0


def test_svc_at_el1_enters_el1_current_spx_vector(asm_image):
    img = asm_image(TO_EL1 + """
el1:
    adr     x0, el1_vectors
    msr     vbar_el1, x0
    svc     #0x42
    b       .
    .balign 0x800
el1_vectors:
    .skip   0x200
sync_cur_spx:
    mrs     x0, esr_el1
    lsr     x0, x0, #26              // EC
    cmp     x0, #0x15                // EC_SVC64
    cset    x0, ne
    b       exit_x0
    .balign 0x800
vectors:
""" + EXIT_WITH_X0)
    _, result, _ = boot(img, semihosting=EL1_EXIT)
    assert result.exit_code == 0


def test_stage2_fault_sets_hpfar_and_far(asm_image):
    # HCR_EL2.VM; the level-1 table maps IPA 1-2 GiB onto itself with one block and leaves the
    # rest invalid, so the EL1 load from 0x80001234 is a level-1 translation fault.
    img = asm_image(TO_EL1.replace("mov     x0, #(1 << 31)", "ldr     x0, =((1 << 31) | 1)").replace(
        "_start:", """_start:
    adr     x0, s2_table
    msr     vttbr_el2, x0
    ldr     x0, =((1 << 31) | (1 << 6) | 32)   // RES1, SL0=1 (level 1), T0SZ=32
    msr     vtcr_el2, x0
""") + """
el1:
    ldr     x1, =0x80001234
    ldr     x7, [x1]
    b       .
    .balign 0x800
vectors:
    .skip   0x400
sync_lower_a64:
    mrs     x2, esr_el2
    mrs     x3, far_el2
    mrs     x4, hpfar_el2
    b       .
    .balign 4096
s2_table:
    .quad   0
    .quad   0x40000000 | 0x400 | 0x300 | 0xc0 | 0x3c | 1   // block: AF, inner-shareable, S2AP RW, normal WB
    .skip   4096 - 16
""")
    m, result, trace = boot(img, max_insns=10_000, trace={"exceptions"})
    assert result.exit_code == EXIT_TIMEOUT
    from unicorn.arm64_const import UC_ARM64_REG_X2, UC_ARM64_REG_X3, UC_ARM64_REG_X4
    esr = m.uc.reg_read(UC_ARM64_REG_X2)
    assert esr >> 26 == 0x24                          # EC_DABT_LOW
    assert esr & (1 << 24) and (esr >> 16) & 0x1F == 7  # ISV, SRT = x7
    assert esr & 0x3F == 0b000101                     # translation fault, level 1
    assert m.uc.reg_read(UC_ARM64_REG_X3) == 0x80001234
    assert m.uc.reg_read(UC_ARM64_REG_X4) == 0x80001000 >> 8
    assert "EC_DABT_LOW" in trace and "HPFAR=0x800010" in trace and "ldr x7, [x1]" in trace


def test_semihosting_exit_code_is_the_run_exit_code(asm_image):
    img = asm_image("""
    .include "board.inc"
    .include "smccc.inc"
_start:
    mov     x0, #42
""" + EXIT_WITH_X0)
    _, result, _ = boot(img)
    assert result.exit_code == 42 and result.diagnostic is None


def test_psci_system_off_through_smc_ends_run_with_zero(asm_image):
    img = asm_image("""
    .include "smccc.inc"
_start:
    ldr     w0, =PSCI_SYSTEM_OFF
    smc     #0
    b       .
""")
    _, result, _ = boot(img)
    assert result.exit_code == 0 and "system off" in result.reason


def test_exception_loop_with_vbar_unset_gets_diagnostic(asm_image):
    img = asm_image("""
_start:
    nop
    .word   0                       // UDF at EL2, VBAR_EL2 still 0
""")
    _, result, _ = boot(img)
    assert result.exit_code == EXIT_GUEST_FAULT
    assert "exception loop at EL2" in result.diagnostic
    assert "VBAR_EL2 = 0x0" in result.diagnostic
    assert "_start+0x4" in result.diagnostic          # where the first exception came from


def test_exception_loop_in_a_handler_outside_the_vector_table_gets_diagnostic(asm_image):
    # The vector branches to a handler elsewhere, which faults at the same instruction every
    # time: found by the repetition, not by where the handler lies.
    img = asm_image("""
_start:
    adr     x0, vectors
    msr     vbar_el2, x0
    isb
    .word   0                       // UDF: the first exception
    b       .
    .balign 0x800
vectors:
    .skip   0x200
    b       handler
    .balign 0x800
handler:
    nop
fault_here:
    .word   0                       // UDF again, inside the handler
""")
    _, result, _ = boot(img, max_insns=1_000_000)
    assert result.exit_code == EXIT_GUEST_FAULT, result
    assert "exception loop at EL2" in result.diagnostic
    assert "<fault_here>" in result.diagnostic and "handler entered through sync_cur_spx" in result.diagnostic
    assert "_start+0xc" in result.diagnostic           # where the first exception came from


def test_a_handler_that_faults_at_different_places_is_not_a_loop(asm_image):
    # Each fault is stepped over: the same EL, the same vector, but never the same instruction.
    img = asm_image("""
    .include "board.inc"
    .include "smccc.inc"
_start:
    adr     x0, vectors
    msr     vbar_el2, x0
    isb
    .word   0
    .word   0
    .word   0
    .word   0
    .word   0
    .word   0
    .word   0
    .word   0
    .word   0
    .word   0
    mov     x0, #0
""" + EXIT_WITH_X0 + """
    .balign 0x800
vectors:
    .skip   0x200
    b       skip
    .balign 0x800
skip:
    mrs     x9, elr_el2
    add     x9, x9, #4
    msr     elr_el2, x9
    eret
""")
    _, result, _ = boot(img, max_insns=1_000_000)
    assert result.exit_code == 0 and result.diagnostic is None, result


def test_write_to_a_hole_names_address_size_and_pc(asm_image):
    # The virt board's flash is no longer read-only memory: it is CFI flash, where any write
    # is a command (an unknown one is logged and ignored, as QEMU's pflash_cfi01), so the
    # write that must stop the guest goes to a hole in the map instead.
    img = asm_image("""
_start:
    mov     x1, #0x0c000000         // QEMU's platform bus: nothing there on our board
    nop
store:
    str     w0, [x1, #8]
""")
    _, result, _ = boot(img, max_insns=1000)
    assert result.exit_code == EXIT_GUEST_FAULT
    assert "4-byte write to unmapped address 0xc000008" in result.diagnostic
    assert "<store>" in result.diagnostic


def test_write_to_flash_is_a_command_not_a_fault(asm_image):
    # 0x12 is no command: QEMU logs it as unimplemented and returns to read array.
    img = asm_image("""
_start:
    mov     x1, #0x1000
    mov     w0, #0x12
    str     w0, [x1, #8]
    ldr     w2, [x1, #8]
    b       .
""")
    _, result, _ = boot(img, max_insns=1000)
    assert result.reason == "instruction limit", result   # ran on, not stopped by the write


def test_fetch_from_unmapped_memory_gets_diagnostic(asm_image):
    img = asm_image("""
_start:
    ldr     x0, =0xc0000000
    br      x0
""")
    _, result, _ = boot(img)
    assert result.exit_code == EXIT_GUEST_FAULT
    assert "instruction fetch from unmapped address 0xc0000000" in result.diagnostic


def test_wfi_with_nothing_to_wake_it_ends_run(asm_image):
    img = asm_image("""
_start:
    wfi
    b       _start
""")
    _, result, _ = boot(img)
    assert result.exit_code == EXIT_GUEST_FAULT and "WFI" in result.diagnostic


def test_instruction_limit(asm_image):
    img = asm_image("""
_start:
    b       _start
""")
    _, result, _ = boot(img, max_insns=1000)
    assert result.exit_code == EXIT_TIMEOUT and "_start" in result.diagnostic


def test_physical_irq_routing_follows_hcr_imo_and_pstate_i(asm_image):
    """The interrupt API the GIC will drive: IRQs go to EL2 with IMO, to EL1 otherwise."""
    img = asm_image("""
_start:
    b       _start
""")
    m, _, _ = boot(img, max_insns=10)
    cpu = m.cpu
    cpu.write_sysreg("VBAR_EL2", 0x40210000)
    cpu.write_sysreg("HCR_EL2", 1 << 31)
    assert cpu.interrupt_target(fiq=False) is None          # at EL2, not routed there
    cpu.write_sysreg("HCR_EL2", (1 << 31) | (1 << 4))       # IMO
    assert cpu.interrupt_target(fiq=False) is None          # routed to EL2 but PSTATE.I is set
    from unicorn.arm64_const import UC_ARM64_REG_PSTATE
    m.uc.reg_write(UC_ARM64_REG_PSTATE, 0x349)              # EL2h, I clear
    cpu.write_sysreg("SCR_EL3", 0x501)
    cpu.set_irq(True)
    entry = cpu.deliver_interrupts()
    assert entry is not None and entry.to_el == 2 and entry.vector == 0x40210000 + 0x280  # irq_cur_spx
    assert cpu.el == 2 and m.uc.reg_read(UC_ARM64_REG_PSTATE) & 0x3C0 == 0x3C0


def test_syndrome_is_read_in_place_and_agrees_with_a_saved_context(built):
    """The hook reads env->exception where QEMU keeps it; a saved context must say the same."""
    import ctypes

    from emu.cpu.calibrate import exception_state_offset
    from emu.cpu.core import ExcState

    m, result, _ = boot(built["probe_hvc"])
    assert result.exit_code == 0
    from emu.cpu import calibrate

    assert not m.cpu._save_ctx, f"env->exception not located ({calibrate.live_failure}); saved-context path in use"
    from unicorn.unicorn_py3.unicorn import uclib

    uclib.uc_context_save(m.cpu._uch, m.cpu._ctx)
    saved = ExcState.from_address(m.cpu._ctx.value + exception_state_offset())
    live = m.cpu._exc
    assert (live.syndrome, live.vaddress, live.target_el) == (saved.syndrome, saved.vaddress, saved.target_el)
    assert live.syndrome == 0x02000000                 # the last one: the exit HLT, an undefined instruction here


def test_saved_context_fallback_gives_the_same_transcript(built, monkeypatch):
    import emu.cpu.core as core

    monkeypatch.setattr(core, "live_exception_address", lambda uc: None)
    m, result, _ = boot(built["probe_stage2"])
    monkeypatch.undo()
    m2, result2, _ = boot(built["probe_stage2"])
    assert m.cpu._save_ctx and not m2.cpu._save_ctx
    assert result.exit_code == result2.exit_code == 0
    assert m.console.transcript == m2.console.transcript


IRQ_AT_EL1 = TO_EL1 + """
el1:
    adr     x0, el1_vectors
    msr     vbar_el1, x0
    msr     daifclr, #2                // unmask IRQ
    ldr     x1, =UART0_BASE
    mov     w0, #0x21
    str     w0, [x1]                   // the test raises the IRQ line from this write
after_store:
    nop
    nop
    b       .
    .balign 0x800
el1_vectors:
    .skip   0x280
irq_cur_spx:
    mrs     x0, elr_el1
    adr     x2, after_store
    sub     x0, x0, x2                 // 0 when the IRQ was taken right after the store
    b       exit_x0
    .balign 0x800
vectors:
""" + EXIT_WITH_X0


def _raise_on_uart_write(m, setter):
    m.console.listeners.append(lambda data: setter(True))


def test_irq_raised_by_an_mmio_write_is_taken_at_the_next_instruction(asm_image):
    import io

    from emu.loader.elf import load_elf  # noqa: F401  (boot() handles images directly)
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(),
                semihosting=EL1_EXIT)
    _raise_on_uart_write(m, m.cpu.set_irq)
    m.load(asm_image(IRQ_AT_EL1))
    result = m.run(max_insns=100_000)
    assert result.exit_code == 0, result
    e = m.cpu.last_entry
    assert (e.kind, e.from_el, e.to_el) == ("irq", 1, 1)
    assert m.console.transcript == b"!"                 # the store happened exactly once


def test_store_cut_short_by_an_interrupt_is_completed_once_with_writeback(asm_image):
    """Unicorn stops inside the MMIO access; the glue finishes the instruction (writeback, PC)."""
    import io

    from emu.machine import Console, Machine

    src = IRQ_AT_EL1.replace("    str     w0, [x1]                   // the test raises the IRQ line from this write",
                             "    stp     w0, w0, [x1], #8           // two UARTDR writes? no: DR then RSR; x1 += 8")
    assert "stp" in src
    src = src.replace("    adr     x2, after_store\n    sub     x0, x0, x2",
                      "    adr     x2, after_store\n    sub     x0, x0, x2\n    ldr     x3, =UART0_BASE + 8\n    sub     x3, x1, x3\n    orr     x0, x0, x3")
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(),
                semihosting=EL1_EXIT)
    _raise_on_uart_write(m, m.cpu.set_irq)
    assert "ldr     x3, =UART0_BASE + 8" in src
    m.load(asm_image(src, name="stp"))
    result = m.run(max_insns=100_000)
    assert result.exit_code == 0, result               # ELR right after the STP, x1 written back
    assert m.console.transcript == b"!"                 # UARTDR written once (the pair's second word is UARTRSR)


def test_virtual_irq_needs_hcr_imo_and_goes_to_el1(asm_image):
    import io

    from emu.machine import Console, Machine

    # With IMO clear a virtual IRQ is not taken at all: the guest spins until the limit.
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(),
                semihosting=EL1_EXIT)
    _raise_on_uart_write(m, m.cpu.set_virq)
    m.load(asm_image(IRQ_AT_EL1, name="no_imo"))
    assert m.run(max_insns=20_000).exit_code == EXIT_TIMEOUT

    # With IMO set it is taken to EL1's IRQ vector right after the store.
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(),
                semihosting=EL1_EXIT)
    _raise_on_uart_write(m, m.cpu.set_virq)
    m.load(asm_image(IRQ_AT_EL1.replace("mov     x0, #(1 << 31)", "ldr     x0, =((1 << 31) | (1 << 4))"), name="imo"))
    result = m.run(max_insns=100_000)
    assert result.exit_code == 0, result


def test_pause_from_a_code_hook_stops_before_that_instruction_and_run_resumes(asm_image):
    import io

    from unicorn import UC_HOOK_CODE

    from emu.machine import Console, Machine

    img = asm_image("""
    .include "smccc.inc"
_start:
    mov     x0, #1
stop_here:
    mov     x0, #2
    ldr     w0, =PSCI_SYSTEM_OFF
    smc     #0
""")
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(img)
    at = img.symbols["stop_here"]
    h = m.uc.hook_add(UC_HOOK_CODE, lambda uc, addr, size, ud: m.pause(Stop.BREAKPOINT), None, at, at)
    r = m.run()
    assert r.paused and r.stop is Stop.BREAKPOINT
    from unicorn.arm64_const import UC_ARM64_REG_X0
    assert m.cpu.pc == at and m.uc.reg_read(UC_ARM64_REG_X0) == 1
    m.uc.hook_del(h)
    r = m.run()
    assert r.exit_code == 0 and not r.paused


def test_masked_irq_is_taken_as_soon_as_the_guest_unmasks_it(asm_image):
    import io

    from emu.machine import Console, Machine

    src = """
    .include "board.inc"
    .include "smccc.inc"
_start:
    adr     x0, vectors
    msr     vbar_el2, x0
    ldr     x0, =((1 << 31) | (1 << 4))   // RW, IMO: physical IRQs go to EL2
    msr     hcr_el2, x0
    ldr     x1, =UART0_BASE
    mov     w0, #0x21
    str     w0, [x1]                      // the IRQ line rises here, masked at EL2 (DAIF.I)
    mov     x2, #0
    add     x2, x2, #1
    add     x2, x2, #1
    msr     daifclr, #2                   // unmask: taken right here
unmasked:
    add     x2, x2, #1
    b       .
    .balign 0x800
vectors:
    .skip   0x280
irq_cur_spx:
    mrs     x0, elr_el2
    adr     x3, unmasked
    sub     x0, x0, x3
    cmp     x2, #2                        // both adds ran, the third did not
    cset    x4, ne
    orr     x0, x0, x4
""" + EXIT_WITH_X0
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    _raise_on_uart_write(m, m.cpu.set_irq)
    m.load(asm_image(src, name="unmask"))
    result = m.run(max_insns=100_000)
    assert result.exit_code == 0, result


UNMASKS = {
    "msr daifclr": ("msr daifclr, #2", "unmasked", 0x280),
    "msr daif": ("msr daif, xzr", "unmasked", 0x280),
    # ERET to EL1 with PSTATE.I set: a physical IRQ routed to EL2 (IMO) is not masked below EL2
    "eret": ("adr x0, at_el1\n    msr elr_el2, x0\n    mov x0, #0x3c5\n    msr spsr_el2, x0\n    eret",
             "at_el1", 0x480),
}


@pytest.mark.parametrize("hooks", ["native", "python"])
@pytest.mark.parametrize("how", UNMASKS)
def test_a_long_masked_stretch_runs_without_stopping_and_the_irq_is_taken_where_it_is_unmasked(
        asm_image, monkeypatch, hooks, how):
    """An IRQ pending but masked through 20,000 loop iterations: the core runs them in a few
    run-loop steps (it stops after blocks that end in an instruction that may unmask, not after
    every block), and the IRQ is still taken at the first instruction after the unmasking one."""
    import io

    from emu.cpu import native
    from emu.machine import Console, Machine
    from emu.runloop import RunLoop

    if hooks == "python":
        monkeypatch.setattr(native, "available", lambda: False)
    elif not native.available():
        pytest.skip("no native code on this host")
    unmask, target, vector = UNMASKS[how]
    src = f"""
    .include "board.inc"
    .include "smccc.inc"
_start:
    adr     x0, vectors
    msr     vbar_el2, x0
    ldr     x0, =((1 << 31) | (1 << 4))   // RW, IMO: physical IRQs go to EL2
    msr     hcr_el2, x0
    ldr     x1, =UART0_BASE
    mov     w0, #0x21
    str     w0, [x1]                      // the IRQ line rises here, masked at EL2 (DAIF.I)
    ldr     x2, =20000
spin:
    subs    x2, x2, #1
    b.ne    spin
    {unmask}
unmasked:
    b       .
at_el1:
    b       .
    .balign 0x800
vectors:
    .skip   {vector}
    mrs     x0, elr_el2
    adr     x3, {target}
    sub     x0, x0, x3                    // 0: taken right where it was unmasked
    orr     x0, x0, x2                    // 0: after the whole loop
    b       exit_x0
""" + EXIT_WITH_X0
    steps = []
    step = RunLoop._step
    monkeypatch.setattr(RunLoop, "_step", lambda self, *a: (steps.append(1), step(self, *a))[1])
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    _raise_on_uart_write(m, m.cpu.set_irq)
    m.load(asm_image(src, name="unmask_" + how.replace(" ", "_")))
    result = m.run(max_insns=1_000_000)
    assert result.exit_code == 0, result
    assert len(steps) < 10, len(steps)     # a stop after every block: over 20,000
