"""The AArch64-host version of the native MRS hook (emu/cpu/native.py), run in Unicorn with
stand-ins for uc_reg_read, uc_reg_write, clock_gettime and the Python handler: this machine is
x86-64, so nothing else executes it."""

from __future__ import annotations

import ctypes
import struct

import pytest
from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, Uc
from unicorn.arm64_const import UC_ARM64_REG_PC, UC_ARM64_REG_SP, UC_ARM64_REG_W0, UC_ARM64_REG_X0, UC_ARM64_REG_X30

from emu.cpu import native

keystone = pytest.importorskip("keystone")

CODE, DATA, STACK, DONE = 0x10000, 0x20000, 0x40000, 0x30000
CP, USER, LOG = DATA, DATA + 0x100, DATA + 0x200
READ, WRITE, GETTIME, PYTHON = CODE + 0x1000, CODE + 0x1100, CODE + 0x1200, CODE + 0x1300

# Stand-ins: uc_reg_read returns PSTATE from LOG; uc_reg_write logs (reg, value) at LOG + 8;
# clock_gettime gives {tv_sec, tv_nsec} from LOG + 24; the "Python handler" returns 7.
STUBS = {
    READ: f"ldr x9, ={LOG}\n ldr x10, [x9]\n str x10, [x2]\n ret",
    WRITE: f"ldr x9, ={LOG}\n str x1, [x9, #8]\n ldr x10, [x2]\n str x10, [x9, #16]\n ret",
    GETTIME: f"ldr x9, ={LOG}\n ldp x10, x11, [x9, #24]\n stp x10, x11, [x1]\n ret",
    PYTHON: "mov w0, #7\n ret",
}


def call(cp: tuple[int, int, int, int, int], el: int, reads: native.CounterReads, count: int = 0,
         host_ns: int = 0) -> tuple[int, int | None]:
    ks = keystone.Ks(keystone.KS_ARCH_ARM64, keystone.KS_MODE_LITTLE_ENDIAN)
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    uc.mem_map(CODE, 0x2000)
    uc.mem_map(DATA, 0x1000)
    uc.mem_map(DONE, 0x1000)
    uc.mem_map(STACK - 0x1000, 0x1000)
    src = native._AARCH64["mrs"].replace("{PSTATE}", "265").replace("{CLOCK_MONOTONIC}", "1")
    uc.mem_write(CODE, bytes(ks.asm(src, CODE)[0]))
    for addr, stub in STUBS.items():
        uc.mem_write(addr, bytes(ks.asm(stub, addr)[0]))
    crn, crm, op0, op1, op2 = cp
    uc.mem_write(CP, struct.pack("<5IIQ", crn, crm, op0, op1, op2, 0, 0))
    reads.handler, reads.reg_read, reads.reg_write, reads.clock_gettime = PYTHON, READ, WRITE, GETTIME
    if reads.source:
        reads.source = DATA + 0x300
        uc.mem_write(DATA + 0x300, struct.pack("<Q", count))
    uc.mem_write(USER, bytes(reads))
    uc.mem_write(LOG, struct.pack("<QQQqq", el << 2, 0, 0, host_ns // 10**9, host_ns % 10**9))
    for reg, value in ((UC_ARM64_REG_X0, 0x1234), (UC_ARM64_REG_X0 + 1, 5), (UC_ARM64_REG_X0 + 2, CP),
                       (UC_ARM64_REG_X0 + 3, USER), (UC_ARM64_REG_X30, DONE), (UC_ARM64_REG_SP, STACK)):
        uc.reg_write(reg, value)
    uc.emu_start(CODE, DONE, count=10_000)
    assert uc.reg_read(UC_ARM64_REG_PC) == DONE and uc.reg_read(UC_ARM64_REG_SP) == STACK
    _, reg, value = struct.unpack("<QQQ", uc.mem_read(LOG, 24))
    return uc.reg_read(UC_ARM64_REG_W0), (value if reg == 5 else None)


CNTPCT, CNTVCT, CNTV_CTL, MIDR = (14, 0, 3, 3, 1), (14, 0, 3, 3, 2), (14, 3, 3, 3, 1), (0, 0, 3, 0, 0)


def reads(**kw) -> native.CounterReads:
    r = native.CounterReads(allowed=0xFC, source=1, offset=1000, cntvoff=300)
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def test_deterministic_counter_reads_are_served():
    assert call(CNTPCT, 2, reads(), count=64 * 500 + 63) == (1, 1500)
    assert call(CNTVCT, 1, reads(), count=64 * 500) == (1, 1200)


def test_realtime_counter_reads_use_the_host_clock():
    assert call(CNTVCT, 2, reads(source=0, t0=5_000), host_ns=3 * 10**9 + 5_000 + 16 * 77 + 15) == \
        (1, 1000 + (3 * 10**9) // 16 + 77 - 300)


def test_other_registers_and_refused_reads_go_elsewhere():
    assert call(MIDR, 2, reads()) == (0, None)          # not CRn 14: executes natively
    assert call(CNTV_CTL, 2, reads()) == (7, None)      # the Python handler
    assert call(CNTPCT, 0, reads()) == (7, None)        # bit 0 clear: EL0 read traps
    assert call(CNTVCT, 1, reads(allowed=0xF7)) == (7, None)
    assert call(CNTVCT, 1, reads(allowed=0)) == (7, None)
