"""Machine.pause from another thread (Ctrl-C, a signal, the debugger's socket) while the guest
is inside a device access: the run must stop at an instruction boundary and resume without
completing an instruction twice or skipping one."""

from __future__ import annotations

import io
import threading

from emu.machine import Console, Machine
from emu.stop import Stop

# Writes 0, 1, 2, ... to the UART data register as fast as it can; every instruction of the loop
# but the branch touches the device or the counter the next write depends on.
UART_COUNTER = """
    .include "board.inc"
_start:
    ldr     x1, =UART0_BASE
    mov     w0, #0
loop:
    strb    w0, [x1, #UARTDR]
    add     w0, w0, #1
    and     w0, w0, #0x7f
    b       loop
"""


def test_pauses_from_another_thread_never_repeat_or_skip_an_instruction(asm_image):
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), time_mode="realtime")
    m.load(asm_image(UART_COUNTER, name="uart_counter"))
    stops = 0
    while stops < 40:
        done = threading.Event()
        pauser = threading.Thread(target=lambda: [m.pause(Stop.DEBUGGER_INTERRUPT) for _ in iter(lambda: done.is_set(), True)])
        pauser.start()
        result = m.run()
        done.set()
        pauser.join()
        assert result.paused and result.stop is Stop.DEBUGGER_INTERRUPT, result
        stops += 1
    data = bytes(m.console.transcript)
    assert len(data) > 40
    assert all(b == (a + 1) & 0x7F for a, b in zip(data, data[1:])), "a UART write was repeated or skipped"
