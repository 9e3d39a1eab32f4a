"""Find where QEMU keeps the pending exception's syndrome inside a saved Unicorn context.

Unicorn hands synchronous exceptions to ``UC_HOOK_INTR`` without entering them, but QEMU has
already computed the syndrome, the fault address and the target EL into ``env->exception``
(``{u32 syndrome; u32 fsr; u64 vaddress; u32 target_el}``). ``uc_context_save`` copies the CPU
state, so that struct sits at a fixed offset of the saved blob for a given Unicorn build. We do
not hard-code the offset: at start-up a scratch CPU takes two HVCs with known immediates and an
alignment fault at a known address, and the offset where all three syndromes and the fault
address appear is the answer.
"""

from __future__ import annotations

import ctypes
import struct
from functools import lru_cache

from unicorn import UC_ARCH_ARM64, UC_HOOK_INTR, UC_MODE_ARM, Uc
from unicorn.arm64_const import UC_ARM64_REG_CP_REG, UC_ARM64_REG_PC, UC_ARM64_REG_PSTATE, UC_CPU_ARM64_A53
from unicorn.unicorn_py3.unicorn import uclib

from .sysregs import SYSREGS

# Hand-assembled so that calibration does not depend on the assembler.
_BASE = 0x40000000
_CODE = [
    0xD2A80000,  # 0x00 movz x0, #0x4000, lsl #16      (x0 = 0x40000000)
    0x91000400,  # 0x04 add  x0, x0, #1                 (unaligned address 0x40000001)
    0xC85F7C01,  # 0x08 ldxr x1, [x0]                   -> alignment fault (exclusives are always checked)
    0xD4024682,  # 0x0c hvc  #0x1234
    0xD4086422,  # 0x10 hvc  #0x4321
    0x14000000,  # 0x14 b .
]
_HVC_1234 = (0x16 << 26) | (1 << 25) | 0x1234
_HVC_4321 = (0x16 << 26) | (1 << 25) | 0x4321
_FAULT_VA = _BASE + 1


def _cp(name: str, value: int) -> tuple:
    r = SYSREGS[name]
    return (r.crn, r.crm, r.op0, r.op1, r.op2, value)


@lru_cache(maxsize=1)
def exception_state_offset() -> int:
    """Offset of ``env->exception`` from the start of a ``uc_context`` allocation."""
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    uc.ctl_set_cpu_model(UC_CPU_ARM64_A53)
    uc.mem_map(_BASE, 0x1000)
    uc.mem_write(_BASE, struct.pack(f"<{len(_CODE)}I", *_CODE))
    uc.reg_write(UC_ARM64_REG_CP_REG, _cp("SCR_EL3", 0x501))
    uc.reg_write(UC_ARM64_REG_PSTATE, 0x3C9)  # EL2h, DAIF masked
    uc.reg_write(UC_ARM64_REG_CP_REG, _cp("SCR_EL3", 0x501))  # rebuilds the cached EL

    size = uclib.uc_context_size(uc._uch)
    ctx = ctypes.c_void_p()
    if uclib.uc_context_alloc(uc._uch, ctypes.byref(ctx)):
        raise RuntimeError("uc_context_alloc failed")
    blobs: list[bytes] = []

    def on_intr(uc_: Uc, intno: int, _ud: object) -> None:
        uclib.uc_context_save(uc_._uch, ctx)
        blobs.append(ctypes.string_at(ctx.value, size))
        pc = uc_.reg_read(UC_ARM64_REG_PC)
        # Aborts leave PC at the faulting instruction; step over it.
        uc_.reg_write(UC_ARM64_REG_PC, pc + 4 if intno == 4 else pc)
        if len(blobs) == 3:
            uc_.emu_stop()

    uc.hook_add(UC_HOOK_INTR, on_intr)
    try:
        uc.emu_start(_BASE, _BASE + 0x14, count=64)
    finally:
        uclib.uc_context_free(ctx)
    if len(blobs) != 3:
        raise RuntimeError("exception calibration: the scratch CPU did not take three exceptions")

    abort, hvc1, hvc2 = blobs
    for off in range(0, size - 24, 4):
        syn, _fsr, vaddr, target = struct.unpack_from("<IIQI", abort, off)
        if vaddr != _FAULT_VA or target != 2 or (syn >> 26) != 0x25:
            continue
        if struct.unpack_from("<I", hvc1, off)[0] == _HVC_1234 and struct.unpack_from("<I", hvc2, off)[0] == _HVC_4321:
            return off
    raise RuntimeError("exception calibration: syndrome not found in the saved context")
