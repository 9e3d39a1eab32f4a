"""Virtual time: the counter the guest reads is the machine's, deterministic by default."""

from __future__ import annotations

import io

import pytest
from conftest import EXIT_WITH_X0, boot

from emu.cpu.clock import INSNS_PER_TICK

COUNTER_LOOP = """
    .include "board.inc"
    .include "smccc.inc"
_start:
    mrs     x19, cntpct_el0
    mrs     x22, cntfrq_el0
    ldr     x0, =100000
spin:
    subs    x0, x0, #1
    b.ne    spin
    mrs     x20, cntpct_el0
    mrs     x21, cntvct_el0
    adr     x1, exit_block
    mov     w0, #SEMIHOST_SYS_EXIT
    hlt     #0xf000
    .balign 8
exit_block:
    .quad   ADP_Stopped_ApplicationExit, 0
"""


def _counters(m):
    from unicorn.arm64_const import UC_ARM64_REG_X19, UC_ARM64_REG_X20, UC_ARM64_REG_X21, UC_ARM64_REG_X22

    return [m.uc.reg_read(r) for r in (UC_ARM64_REG_X19, UC_ARM64_REG_X20, UC_ARM64_REG_X21, UC_ARM64_REG_X22)]


def test_counter_advances_with_retired_instructions(asm_image):
    m, result, _ = boot(asm_image(COUNTER_LOOP))
    assert result.exit_code == 0
    before, after, virt, freq = _counters(m)
    assert freq == 62_500_000
    # 200,000 loop instructions at 16 per tick, give or take a block at each end.
    assert abs((after - before) - 200_000 // INSNS_PER_TICK) <= 2
    assert virt == after                       # CNTVOFF_EL2 is 0 out of reset


def test_same_image_reads_same_counter_values(asm_image):
    img = asm_image(COUNTER_LOOP)
    runs = [_counters(boot(img)[0]) for _ in range(2)]
    assert runs[0] == runs[1]


def test_realtime_mode_counter_follows_the_host_clock(asm_image):
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), time_mode="realtime")
    m.load(asm_image(COUNTER_LOOP))
    assert m.run().exit_code == 0
    before, after, _, _ = _counters(m)
    assert after > before


def test_unknown_time_mode_is_refused():
    from emu.machine import Machine

    with pytest.raises(ValueError):
        Machine(time_mode="sundial")


def test_an_rtc_alarm_wakes_wfi_and_time_skips_to_it(asm_image):
    # The PL031's match interrupt is the only thing that can end this WFI: the run loop must
    # know its deadline as it knows the generic timers', skip virtual time to it and wake.
    img = asm_image("""
    .include "board.inc"
    .include "smccc.inc"
_start:
    ldr     x1, =0x08000000                 // GICD
    mov     w0, #1
    str     w0, [x1]                        // GICD_CTLR: forward interrupts
    mov     w0, #(1 << 2)
    str     w0, [x1, #0x104]                // GICD_ISENABLER1: INTID 34 (the RTC)
    mov     w0, #1
    add     x2, x1, #0x800
    strb    w0, [x2, #34]                   // GICD_ITARGETSR: to CPU 0
    ldr     x1, =0x08010000                 // GICC
    mov     w0, #0xff
    str     w0, [x1, #4]                    // GICC_PMR: everything
    mov     w0, #1
    str     w0, [x1]                        // GICC_CTLR
    ldr     x1, =0x09010000                 // PL031
    ldr     w19, [x1]                       // RTCDR
    add     w0, w19, #2
    str     w0, [x1, #4]                    // RTCMR: two seconds from now
    mov     w0, #1
    str     w0, [x1, #0x10]                 // RTCIMSC: match interrupt on
    wfi
    ldr     w20, [x1]                       // RTCDR after the wait
    ldr     w21, [x1, #0x14]                // RTCRIS
    sub     w0, w20, w19                    // seconds that passed: 2
    add     w0, w0, w21, lsl #4             // + 16 when the match is latched
    b       exit_x0
""" + EXIT_WITH_X0, name="rtc_alarm")
    _, result, _ = boot(img, max_insns=100_000)
    assert result.diagnostic is None and result.exit_code == 2 + 16, result
