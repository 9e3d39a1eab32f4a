"""Two tiny native callbacks for Unicorn, assembled at start-up for the host (x86-64, AArch64).

Python hooks on Unicorn's hot paths cost microseconds per call. Two jobs need a hook that
runs very often but rarely has work to do, so they are done in machine code generated with
Keystone (no compiler needed) and Python is reached only when there is work:

- **Instruction counting** (``UC_HOOK_BLOCK``): adds each translation block's size to a
  counter as the block starts; a block that starts once the count has reached the limit is
  not counted and calls ``uc_emu_stop`` instead, which stops before it runs. So does a block
  whose address is not a multiple of 4: Unicorn (QEMU 5.0) would decode bytes at a misaligned
  PC, where the architecture takes a PC alignment fault, so the glue stops and takes it. This is how virtual time
  advances deterministically at about 60% of free-running speed, where Unicorn's own
  ``count`` option (a hook per instruction) runs at about 15%. The count is per block: a block
  cut short by an exception still counts whole, the same way on every run.
- **System-register filter** (``UC_HOOK_INSN`` for MRS/MSR): Unicorn calls the hook for every
  MRS/MSR executed. The filter passes only CRn == 14 (the generic timer registers) on to the
  Python handler and lets every other system register execute natively.

On another host architecture, or if the code cannot be made executable, :func:`available`
is False and the callers fall back to Unicorn's ``count`` and a plain Python hook.
"""

from __future__ import annotations

import ctypes
import mmap
import platform
from functools import lru_cache

from unicorn.unicorn_py3.unicorn import uclib


class BlockCounter(ctypes.Structure):
    """Shared with the native block hook. ``count`` and ``limit`` are in bytes of code."""

    _fields_ = [
        ("count", ctypes.c_uint64),
        ("limit", ctypes.c_uint64),
        ("stop_fn", ctypes.c_uint64),
        ("stopped", ctypes.c_uint64),     # 1: the limit was reached; 2: a block at a misaligned PC
        ("last_addr", ctypes.c_uint64),   # the block counted last, so that a stop inside it can
        ("last_size", ctypes.c_uint64),   # give back the part that did not run
    ]


class SysregFilter(ctypes.Structure):
    """Shared with the native MRS/MSR hook: the Python handler to call for CRn == 14."""

    _fields_ = [("handler", ctypes.c_uint64)]


_X86_64 = {
    # block hook (rdi=uc, rsi=address, edx=size, rcx=user)
    "block": """
        test sil, 3
        jnz block_misaligned
        mov rax, qword ptr [rcx]
        cmp rax, qword ptr [rcx + 8]
        jae block_stop
        mov r8d, edx
        add rax, r8
        mov qword ptr [rcx], rax
        mov qword ptr [rcx + 32], rsi
        mov qword ptr [rcx + 40], r8
        ret
    block_stop:
        mov qword ptr [rcx + 24], 1
        mov rax, qword ptr [rcx + 16]
        jmp rax
    block_misaligned:
        mov qword ptr [rcx + 24], 2
        mov rax, qword ptr [rcx + 16]
        jmp rax
    """,
    # sysreg hook (rdi=uc, esi=reg, rdx=cp_reg, rcx=user) -> eax
    "sysreg": """
        mov eax, dword ptr [rdx]
        cmp eax, 14
        jne sysreg_pass
        mov rax, qword ptr [rcx]
        jmp rax
    sysreg_pass:
        xor eax, eax
        ret
    """,
}

_AARCH64 = {
    # block hook (x0=uc, x1=address, w2=size, x3=user)
    "block": """
        tst x1, #3
        b.ne block_misaligned
        ldr x4, [x3]
        ldr x5, [x3, #8]
        cmp x4, x5
        b.hs block_stop
        add x4, x4, w2, uxtw
        str x4, [x3]
        str x1, [x3, #32]
        mov w6, w2
        str x6, [x3, #40]
        ret
    block_stop:
        mov x6, #1
        str x6, [x3, #24]
        ldr x16, [x3, #16]
        br x16
    block_misaligned:
        mov x6, #2
        str x6, [x3, #24]
        ldr x16, [x3, #16]
        br x16
    """,
    # sysreg hook (x0=uc, w1=reg, x2=cp_reg, x3=user) -> w0
    "sysreg": """
        ldr w4, [x2]
        cmp w4, #14
        b.ne sysreg_pass
        ldr x16, [x3]
        br x16
    sysreg_pass:
        mov w0, #0
        ret
    """,
}


@lru_cache(maxsize=1)
def _code() -> dict[str, int] | None:
    """Addresses of the assembled callbacks in executable memory, or None."""
    try:
        from keystone import KS_ARCH_ARM64, KS_ARCH_X86, KS_MODE_64, KS_MODE_LITTLE_ENDIAN, Ks

        machine = platform.machine().lower()
        if machine in ("x86_64", "amd64"):
            ks, sources = Ks(KS_ARCH_X86, KS_MODE_64), _X86_64
        elif machine in ("aarch64", "arm64"):
            ks, sources = Ks(KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN), _AARCH64
        else:
            return None
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        base = ctypes.addressof(ctypes.c_char.from_buffer(page))
        addrs, off = {}, 0
        for name, src in sources.items():
            blob = bytes(ks.asm(src, base + off)[0])
            page.seek(off)
            page.write(blob)
            addrs[name] = base + off
            off = (off + len(blob) + 63) & ~63
        _KEEP.append(page)
        return addrs
    except Exception:  # no keystone for this host, no executable mapping: use the fallbacks
        return None


_KEEP: list = []


def available() -> bool:
    return _code() is not None


def uc_emu_stop_address() -> int:
    return ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value


def block_hook_address() -> int:
    return _code()["block"]


def sysreg_hook_address() -> int:
    return _code()["sysreg"]
