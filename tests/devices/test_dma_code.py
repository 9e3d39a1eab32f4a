"""A DMA write drops translated code only where code was translated from (emu/guestview.py,
the edge hook's code-page map in emu/cpu/native.py): onto code a core has run, that core runs
the new bytes; into a page of data, no core loses its translations."""

from __future__ import annotations

import io
import struct

import pytest
from unicorn import Uc
from unicorn.arm64_const import UC_ARM64_REG_X0

from emu.cpu import native
from emu.machine import Console, Machine
from emu.mem.dma import PhysicalPort

LOOP = """
_start:
    mov     x6, #0
again:
    bl      func
    add     x6, x6, x0
    b       again
func:
    mov     x0, #1
    ret
    .balign 0x1000
data:
    .space  0x1000
"""
MOV_X0_2 = 0xD2800040


@pytest.fixture(params=["native", "python"])
def hooks(request, monkeypatch):
    if request.param == "python":
        monkeypatch.setattr(native, "available", lambda: False)
    elif not native.available():
        pytest.skip("no native code on this host")


def started(asm_image, cores=1):
    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), cores=cores)
    img = asm_image(LOOP, name="dma_code")
    m.load(img)
    r = m.run(max_insns=1_000, pause_at_limit=True)
    assert r.paused and m.uc.reg_read(UC_ARM64_REG_X0) == 1
    return m, img


def test_a_dma_onto_code_a_core_ran_is_what_it_runs_next(asm_image, hooks):
    m, img = started(asm_image)
    PhysicalPort(m).write(img.symbols["func"], struct.pack("<I", MOV_X0_2))
    assert m.run(max_insns=1_000, pause_at_limit=True).paused
    assert m.uc.reg_read(UC_ARM64_REG_X0) == 2


def test_a_dma_into_data_keeps_every_translation(asm_image, hooks, monkeypatch):
    m, img = started(asm_image, cores=2)
    flushed = []
    flush = Uc.ctl_flush_tb
    monkeypatch.setattr(Uc, "ctl_flush_tb", lambda uc: (flushed.append(uc), flush(uc))[1])
    port = PhysicalPort(m)
    port.write(img.symbols["data"], bytes(range(256)) * 16)
    port.write(0x4100_0000, b"\xff" * 0x10000)
    assert flushed == []
    port.write(img.symbols["func"], struct.pack("<I", MOV_X0_2))
    assert flushed == [m.cores[0].uc]             # core 1 never ran: nothing of it to drop
    port.write(img.symbols["func"], struct.pack("<I", MOV_X0_2))
    assert flushed == [m.cores[0].uc]             # dropped already, none translated since
