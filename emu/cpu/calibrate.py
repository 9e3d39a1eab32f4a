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


# -- reading env->exception in place ------------------------------------------------------------
#
# Saving a context copies all of CPUARMState (about 12 KiB) to read 24 bytes of it. The live
# struct sits inside the ARMCPU object that ``uc->cpu`` points to, so once we know which word of
# ``struct uc_struct`` holds that pointer and how far into the object the state begins, the hook
# can read ``env->exception`` where it lives. Both numbers are found by search, as above, and
# every address is checked against /proc/self/maps before it is read.

def _readable_regions() -> list[tuple[int, int]]:
    regions = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                addrs, perms = line.split()[:2]
                if perms.startswith("r"):
                    lo, hi = (int(x, 16) for x in addrs.split("-"))
                    regions.append((lo, hi))
    except OSError:
        pass
    return regions


def _region_end(regions: list[tuple[int, int]], addr: int) -> int | None:
    for lo, hi in regions:
        if lo <= addr < hi:
            return hi
    return None


def _context_data(uc: Uc) -> tuple[bytes, int]:
    """(saved CPU state, offset of that state in the uc_context allocation).

    A uc_context is a small header that starts with ``size_t context_size``, then the state."""
    total = uclib.uc_context_size(uc._uch)
    ctx = ctypes.c_void_p()
    if uclib.uc_context_alloc(uc._uch, ctypes.byref(ctx)):
        raise RuntimeError("uc_context_alloc failed")
    try:
        uclib.uc_context_save(uc._uch, ctx)
        raw = ctypes.string_at(ctx.value, total)
    finally:
        uclib.uc_context_free(ctx)
    context_size = struct.unpack_from("<Q", raw, 0)[0]
    header = total - context_size
    if not 0 < header < 256:
        raise RuntimeError("unexpected uc_context layout")
    return raw[header:header + context_size], header


def _mark_registers(uc: Uc, salt: int) -> None:
    from .gpr import X

    for i in range(31):
        uc.reg_write(X[i], 0x5EED_0000_0000_0000 | (salt << 32) | (i << 16) | 0xA5)


@lru_cache(maxsize=1)
def _env_locator() -> tuple[int, int, int] | None:
    """(word index of uc->cpu in uc_struct, offset of env in the CPU object, header size), or None.

    A candidate is any place, reachable through a pointer in uc_struct, that holds the same
    bytes as a saved context; only the live state still matches after the registers change
    (stale copies, such as a freed context buffer, do not)."""
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    uc.ctl_set_cpu_model(UC_CPU_ARM64_A53)
    _mark_registers(uc, 1)
    data, header = _context_data(uc)
    pattern = data[:512]
    regions = _readable_regions()
    base = uc._uch.value
    end = _region_end(regions, base)
    if end is None:
        return None
    words = ctypes.string_at(base, min(0x4000, end - base))
    candidates = []
    for w in range(len(words) // 8):
        ptr = struct.unpack_from("<Q", words, 8 * w)[0]
        hi = _region_end(regions, ptr) if ptr else None
        if hi is None:
            continue
        chunk = ctypes.string_at(ptr, min(0x40000, hi - ptr))
        k = chunk.find(pattern)
        while k >= 0:
            candidates.append((w, ptr, k))
            k = chunk.find(pattern, k + 8)
    _mark_registers(uc, 2)
    data2, _ = _context_data(uc)
    live = sorted({(k, w) for w, ptr, k in candidates if ctypes.string_at(ptr + k, 512) == data2[:512]})
    # A pointer to a neighbouring heap object can reach the state too, by accident of
    # allocation; keep only the (word, offset) pairs that also hold in other instances.
    for salt in (3, 4):
        other = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        other.ctl_set_cpu_model(UC_CPU_ARM64_A53)
        _mark_registers(other, salt)
        odata, _ = _context_data(other)
        regions = _readable_regions()
        kept = []
        for k, w in live:
            ptr = struct.unpack_from("<Q", ctypes.string_at(other._uch.value + 8 * w, 8))[0]
            if _region_end(regions, ptr + k) is not None and ctypes.string_at(ptr + k, 512) == odata[:512]:
                kept.append((k, w))
        live = kept
    if not live:
        return None
    k, w = live[0]
    return w, k, header


# Why the in-place path was not taken, for diagnostics (None when it was).
live_failure: str | None = None


def live_exception_address(uc: Uc) -> int | None:
    """Address of this CPU's live ``env->exception``, or None if it cannot be located safely."""
    global live_failure
    try:
        loc = _env_locator()
        if loc is None:
            live_failure = "the CPU state was not found behind any pointer of uc_struct"
            return None
        w, k, header = loc
        data, _ = _context_data(uc)  # also makes Unicorn create the CPU if it has not yet
        regions = _readable_regions()
        cpu = struct.unpack_from("<Q", ctypes.string_at(uc._uch.value + 8 * w, 8))[0]
        env = cpu + k
        if _region_end(regions, env) is None:
            live_failure = f"uc_struct word {w} ({cpu:#x}) + {k:#x} is not readable"
            return None
        if ctypes.string_at(env, 512) != data[:512]:
            live_failure = f"uc_struct word {w} ({cpu:#x}) + {k:#x} does not hold the CPU state"
            return None
        live_failure = None
        return env + exception_state_offset() - header
    except (RuntimeError, OSError, ValueError) as err:
        live_failure = str(err)
        return None
