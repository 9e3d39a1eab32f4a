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
- **WFE** (the same block hook, and ``UC_HOOK_EDGE_GENERATED``): Unicorn executes WFE as a
  yield that no hook sees (QEMU's EXCP_YIELD is an internal exit, never an interrupt), but WFE
  always ends its translation block. So when Unicorn translates a block, the edge hook reads
  the block's last two instructions through the CPU's TLB (``uc_vmem_read``, which the fetch
  has just filled) and, if the last is WFE and the one before it not SEVL (which sets the event
  register, so that the WFE completes at once: Linux's ``sevl; wfe``), adds the block's start
  address to an open-addressing set. With several cores, a block entered at the end of the
  block counted last, if that one's start is in the set, is not counted and stops emulation
  instead: the core has just executed a WFE, and the run loop ends its turn (emu/runloop.py).
  Other blocks pay two compares: only a block entered where the last one ended (a fall-through)
  is looked up. The set is never pruned: an address whose code changed since gives a stop too
  many, which the run loop checks and ignores, never one too few. When the set is half full,
  the edge hook stops emulation before the new block runs, and the counter grows the set and
  drops the translated code, so that the block is translated and recorded again.
- **Unmasking** (the same two hooks): while an interrupt is pending but masked, the run loop
  must take it at the first block boundary after the instruction that unmasks it. Those
  instructions (ERET, MSR DAIFClr, MSR DAIF and MSR HCR_EL2, which routing depends on) end
  their block, so the edge hook puts the start of a block that ends in one into the same set,
  as ``start | 2``; with ``WATCH_UNMASK``, the block entered after such a block, fall-through or
  not, stops instead of being counted. A hypervisor at EL2 holding a tenant's virtual interrupt
  then runs whole turns between its ERETs, where a stop after every block cost a run-loop step
  for every 40 instructions or so.
- **System-register filter** (``UC_HOOK_INSN`` for MRS/MSR): Unicorn calls the hook for every
  MRS/MSR executed. The filter passes only CRn == 14 (the generic timer registers) on to the
  Python handler and lets every other system register execute natively. On a machine with
  several cores the MRS filter also passes MPIDR_EL1 (CRn == 0, op2 == 5): every Unicorn
  instance has one CPU, numbered 0, so core N's affinity must come from Python.
- **Cache and TLB maintenance** (``UC_HOOK_INSN`` for SYS, with several cores): IC IALLUIS,
  IC IALLU, IC IVAU and TLBI go to Python, which passes them on to the other cores; DC ZVA
  (Linux clears every page with it) and the rest run natively.
- **Counter reads** (the MRS filter): an MRS of CNTPCT_EL0 or CNTVCT_EL0 that is allowed at the
  current EL is served here, from :class:`CounterReads`, which Python keeps up to date: the
  count of the block hook (deterministic time) or the host's CLOCK_MONOTONIC through the C
  library's ``clock_gettime`` (realtime), plus the clock's offset, minus CNTVOFF_EL2 for
  CNTVCT. The value goes into the destination register with ``uc_reg_write``, as the Python
  handler writes it, and the hook returns 1 so that Unicorn skips the instruction. Polling
  loops (U-Boot's countdown, Linux's delays) then run without a Python call per read. An
  access that traps or is UNDEFINED, and every other CRn == 14 register, still goes to Python.

On another host architecture, or if the code cannot be made executable, :func:`available`
is False and the callers fall back to Unicorn's ``count`` and a plain Python hook.
"""

from __future__ import annotations

import ctypes
import mmap
import platform
import sys
import time
from functools import lru_cache

from unicorn import UC_PROT_EXEC
from unicorn.arm64_const import UC_ARM64_REG_PSTATE
from unicorn.unicorn_py3.unicorn import uclib


class BlockCounter(ctypes.Structure):
    """Shared with the native block and edge hooks. ``count`` and ``limit`` are in bytes of code."""

    _fields_ = [
        ("count", ctypes.c_uint64),
        ("limit", ctypes.c_uint64),
        ("stop_fn", ctypes.c_uint64),
        ("stopped", ctypes.c_uint64),     # 1: the limit was reached; 2: a block at a misaligned PC;
                                          # 3: a block right after a WFE; 4: the WFE set is full;
                                          # 5: a block right after one that may unmask
        ("last_addr", ctypes.c_uint64),   # the block counted last, so that a stop inside it can
        ("last_size", ctypes.c_uint64),   # give back the part that did not run
        ("watch", ctypes.c_uint64),       # WATCH_WFE | WATCH_UNMASK
        ("wfe_starts", ctypes.c_uint64),  # the set: u64 slots holding start | 1 (ends in WFE) or
                                          # start | 2 (may unmask), 0: empty; probed from
                                          # (start >> 2) & mask up
        ("wfe_mask", ctypes.c_uint64),    # slots - 1, slots a power of two
        ("wfe_used", ctypes.c_uint64),
        ("wfe_room", ctypes.c_uint64),    # entries the set takes before the edge hook stops
        ("vmem_read", ctypes.c_uint64),   # uc_vmem_read
        ("vmem_translate", ctypes.c_uint64),  # uc_vmem_translate
        ("code_pages", ctypes.c_uint64),  # u8 per 4 KiB physical page: 1 once code there was translated
        ("code_page_count", ctypes.c_uint64),  # pages the map covers (0: no map)
    ]


#: A64 encodings of WFE (HINT #2) and SEVL (HINT #5).
WFE = 0xD503205F
SEVL = 0xD50320BF
#: The instructions that can unmask an interrupt that is pending, each the last of its block
#: (QEMU ends a block after ERET and after every MSR): ERET; MSR DAIFClr, #imm (any CRm);
#: MSR DAIF, Xt and MSR HCR_EL2, Xt (any Rt), which routing depends on.
ERET = 0xD69F03E0
DAIFCLR, DAIFCLR_MASK = 0xD50340FF, 0xFFFFF0FF
MSR_DAIF, MSR_HCR_EL2, MSR_MASK = 0xD51B4220, 0xD51C1100, 0xFFFFFFE0
#: (value, mask): an instruction may unmask if ``insn & mask == value``.
UNMASKING = ((ERET, 0xFFFFFFFF), (DAIFCLR, DAIFCLR_MASK), (MSR_DAIF, MSR_MASK), (MSR_HCR_EL2, MSR_MASK))



def may_unmask(insn: int) -> bool:
    """Whether ``insn`` is one of the instructions that can unmask a pending interrupt."""
    return any(insn & mask == value for value, mask in UNMASKING)


def _unmask_match(arch: str) -> str:
    """The edge hooks' test of the block's last instruction (eax on x86-64, w6 on AArch64)
    against UNMASKING: a branch to edge_unmasks on a match, one (value, mask) at a time."""
    lines = []
    for value, mask in UNMASKING:
        if arch == "x86":
            lines += ["        mov ecx, eax", f"        and ecx, {mask}", f"        cmp ecx, {value}",
                      "        je edge_unmasks"]
        else:
            lines += [f"        movz w5, #{mask & 0xFFFF}", f"        movk w5, #{mask >> 16}, lsl #16",
                      "        and w7, w6, w5", f"        movz w5, #{value & 0xFFFF}",
                      f"        movk w5, #{value >> 16}, lsl #16", "        cmp w7, w5", "        b.eq edge_unmasks"]
    return "\n".join(lines)


#: BlockCounter.watch bits.
WATCH_WFE = 1      # stop right after a block that ends in WFE (not after SEVL)
WATCH_UNMASK = 2   # stop right after a block that ends in an instruction that may unmask


class SysregFilter(ctypes.Structure):
    """Shared with the native MRS/MSR hook: the Python handler to call for CRn == 14."""

    _fields_ = [("handler", ctypes.c_uint64)]


class CounterReads(ctypes.Structure):
    """Shared with the native MRS hook: how to compute CNTPCT_EL0/CNTVCT_EL0 and when it may.

    The value is ``offset + count // 64`` (deterministic: ``source`` is the block hook's count,
    in bytes, 4 per instruction, 16 instructions per tick) or ``offset + (monotonic ns - t0) // 16``
    (realtime: ``source`` is 0), minus ``cntvoff`` for CNTVCT_EL0; the same arithmetic as
    ``VirtualClock.now`` (emu/cpu/clock.py)."""

    _fields_ = [
        ("handler", ctypes.c_uint64),        # the Python MRS handler: everything not served here
        ("allowed", ctypes.c_uint64),        # bit 2 * EL + (0 CNTPCT_EL0, 1 CNTVCT_EL0): served here
        ("source", ctypes.c_uint64),
        ("offset", ctypes.c_uint64),
        ("t0", ctypes.c_uint64),
        ("cntvoff", ctypes.c_uint64),
        ("reg_read", ctypes.c_uint64),       # uc_reg_read
        ("reg_write", ctypes.c_uint64),      # uc_reg_write
        ("clock_gettime", ctypes.c_uint64),  # 0: realtime reads go to Python
        ("mpidr", ctypes.c_uint64),          # not 0: CRn == 0, op2 == 5 reads (MPIDR_EL1) go to Python too
    ]


CLOCK_MONOTONIC = 1   # Linux's clock id, the clock of Python's time.monotonic_ns


_X86_64 = {
    # block hook (rdi=uc, rsi=address, edx=size, rcx=user). With wfe_watch, a block entered where
    # the last one ended, if that one's start is in the set, stops instead of being counted.
    "block": """
        test sil, 3
        jnz block_misaligned
        mov rax, qword ptr [rcx]
        cmp rax, qword ptr [rcx + 8]
        jae block_stop
        cmp qword ptr [rcx + 48], 0
        jne block_watch
    block_count:
        mov r8d, edx
        add rax, r8
        mov qword ptr [rcx], rax
        mov qword ptr [rcx + 32], rsi
        mov qword ptr [rcx + 40], r8
        ret
    block_watch:
        test qword ptr [rcx + 48], {WATCH_UNMASK}
        jz block_wfe
        cmp qword ptr [rcx + 40], 0
        je block_wfe_watched
        mov r10, qword ptr [rcx + 56]
        mov r11, qword ptr [rcx + 32]
        mov r8, r11
        or r11, 2
        shr r8, 2
    block_unmask_probe:
        and r8, qword ptr [rcx + 64]
        mov r9, qword ptr [r10 + r8 * 8]
        test r9, r9
        jz block_wfe_watched
        cmp r9, r11
        je block_after_unmask
        inc r8
        jmp block_unmask_probe
    block_wfe_watched:
        test qword ptr [rcx + 48], {WATCH_WFE}
        jz block_count
    block_wfe:
        mov r9, qword ptr [rcx + 32]
        add r9, qword ptr [rcx + 40]
        cmp r9, rsi
        jne block_count
        mov r10, qword ptr [rcx + 56]
        mov r11, qword ptr [rcx + 64]
        mov r8, qword ptr [rcx + 32]
        shr r8, 2
    block_probe:
        and r8, r11
        mov r9, qword ptr [r10 + r8 * 8]
        test r9, r9
        jz block_count
        xor r9, 1
        cmp r9, qword ptr [rcx + 32]
        je block_after_wfe
        inc r8
        jmp block_probe
    block_after_wfe:
        mov qword ptr [rcx + 24], 3
        jmp block_stopped
    block_after_unmask:
        mov qword ptr [rcx + 24], 5
        jmp block_stopped
    block_stop:
        mov qword ptr [rcx + 24], 1
        jmp block_stopped
    block_misaligned:
        mov qword ptr [rcx + 24], 2
    block_stopped:
        mov rax, qword ptr [rcx + 16]
        jmp rax
    """,
    # edge hook, called when Unicorn translates a block (rdi=uc, rsi=the new block's uc_tb
    # {u64 pc; u16 icount; u16 size}, rdx=the previous one, rcx=BlockCounter): marks the physical
    # pages of its first and last instructions as code, then puts its start in the set if it ends
    # in WFE not after SEVL, or in an instruction that may unmask. Its last two instructions are
    # read into [rsp] (the one before, 0 if none) and [rsp + 4] (the last); a physical address
    # into [rsp + 16]; the block's size is kept at [rsp + 24], its last instruction's address in r14.
    "edge": """
        movzx eax, word ptr [rsi + 10]
        test eax, eax
        jz edge_done
        push rbx
        push r12
        push r13
        push r14
        sub rsp, 40
        mov rbx, rcx
        mov r12, qword ptr [rsi]
        mov r13, rdi
        mov dword ptr [rsp + 24], eax
        lea r14, [r12 + rax - 4]
        cmp qword ptr [rbx + 112], 0
        je edge_words
        mov rsi, r12
    edge_mark:
        mov rdi, r13
        mov edx, {UC_PROT_EXEC}
        lea rcx, [rsp + 16]
        call qword ptr [rbx + 96]
        test eax, eax
        jnz edge_marked
        mov rax, qword ptr [rsp + 16]
        shr rax, 12
        cmp rax, qword ptr [rbx + 112]
        jae edge_marked
        mov rcx, qword ptr [rbx + 104]
        mov byte ptr [rcx + rax], 1
    edge_marked:
        mov rax, r14
        xor rax, r12
        shr rax, 12
        jz edge_words
        mov rsi, r14
        mov r14, r12
        jmp edge_mark
    edge_words:
        mov eax, dword ptr [rsp + 24]
        lea r8, [r12 + rax]
        mov qword ptr [rsp], 0
        cmp eax, 8
        jb edge_one
        lea rsi, [r8 - 8]
        mov rcx, rsp
        mov r8d, 8
        jmp edge_read
    edge_one:
        lea rsi, [r8 - 4]
        lea rcx, [rsp + 4]
        mov r8d, 4
    edge_read:
        mov rdi, r13
        mov edx, {UC_PROT_EXEC}
        call qword ptr [rbx + 88]
        test eax, eax
        jnz edge_leave
        mov eax, dword ptr [rsp + 4]
        cmp eax, {WFE}
        jne edge_unmask
        cmp dword ptr [rsp], {SEVL}
        je edge_leave
        or r12, 1
        jmp edge_key
    edge_unmask:
{X86_UNMASK_MATCH}
        jmp edge_leave
    edge_unmasks:
        or r12, 2
    edge_key:
        mov r10, qword ptr [rbx + 56]
        mov r11, qword ptr [rbx + 64]
        mov r8, r12
        shr r8, 2
    edge_probe:
        and r8, r11
        mov r9, qword ptr [r10 + r8 * 8]
        cmp r9, r12
        je edge_leave
        test r9, r9
        jz edge_insert
        inc r8
        jmp edge_probe
    edge_insert:
        mov rax, qword ptr [rbx + 72]
        cmp rax, qword ptr [rbx + 80]
        jae edge_full
        mov qword ptr [r10 + r8 * 8], r12
        inc rax
        mov qword ptr [rbx + 72], rax
        jmp edge_leave
    edge_full:
        mov qword ptr [rbx + 24], 4
        mov rdi, r13
        call qword ptr [rbx + 16]
    edge_leave:
        add rsp, 40
        pop r14
        pop r13
        pop r12
        pop rbx
    edge_done:
        ret
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
    # MRS hook with counter reads (rdi=uc, esi=reg, rdx=cp_reg, rcx=CounterReads) -> eax.
    # cp_reg: crn +0, crm +4, op0 +8, op1 +12, op2 +16. CNTPCT_EL0 is S3_3_C14_C0_1, CNTVCT_EL0 _2.
    "mrs": """
        cmp dword ptr [rdx], 14
        je mrs_timer
        cmp dword ptr [rdx], 0
        jne mrs_pass
        cmp dword ptr [rdx + 16], 5
        jne mrs_pass
        cmp qword ptr [rcx + 72], 0
        je mrs_pass
        jmp qword ptr [rcx]
    mrs_timer:
        cmp dword ptr [rdx + 4], 0
        jne mrs_python
        cmp dword ptr [rdx + 8], 3
        jne mrs_python
        cmp dword ptr [rdx + 12], 3
        jne mrs_python
        mov eax, dword ptr [rdx + 16]
        dec eax
        cmp eax, 1
        ja mrs_python
        cmp qword ptr [rcx + 8], 0
        je mrs_python
        push rbx
        push r12
        push r13
        push r14
        push r15
        sub rsp, 16
        mov rbx, rdi
        mov r12d, esi
        mov r15, rdx
        mov r13, rcx
        mov r14d, eax
        mov esi, {PSTATE}
        mov rdx, rsp
        call qword ptr [r13 + 48]
        mov rcx, qword ptr [rsp]
        shr ecx, 2
        and ecx, 3
        lea ecx, [r14 + rcx * 2]
        mov rax, qword ptr [r13 + 8]
        bt rax, rcx
        jnc mrs_refuse
        mov rax, qword ptr [r13 + 16]
        test rax, rax
        jz mrs_host
        mov rax, qword ptr [rax]
        shr rax, 6
        jmp mrs_have
    mrs_host:
        mov edi, {CLOCK_MONOTONIC}
        mov rsi, rsp
        call qword ptr [r13 + 64]
        imul rax, qword ptr [rsp], 1000000000
        add rax, qword ptr [rsp + 8]
        sub rax, qword ptr [r13 + 32]
        shr rax, 4
    mrs_have:
        add rax, qword ptr [r13 + 24]
        test r14d, r14d
        jz mrs_write
        sub rax, qword ptr [r13 + 40]
    mrs_write:
        mov qword ptr [rsp], rax
        mov rdi, rbx
        mov esi, r12d
        mov rdx, rsp
        call qword ptr [r13 + 56]
        mov eax, 1
        jmp mrs_leave
    mrs_refuse:
        mov rdi, rbx
        mov esi, r12d
        mov rdx, r15
        mov rcx, r13
        xor eax, eax
    mrs_leave:
        add rsp, 16
        pop r15
        pop r14
        pop r13
        pop r12
        pop rbx
        test eax, eax
        jnz mrs_done
    mrs_python:
        jmp qword ptr [rcx]
    mrs_done:
        ret
    mrs_pass:
        xor eax, eax
        ret
    """,
    # SYS hook (rdi=uc, esi=reg, rdx=cp_reg, rcx=SysregFilter) -> eax: only IC IALLUIS/IALLU/IVAU
    # (CRn 7, CRm 1 or 5) and TLBI (CRn 8) go to Python; DC ZVA and the rest run natively.
    "sys": """
        mov eax, dword ptr [rdx]
        cmp eax, 8
        je sys_python
        cmp eax, 7
        jne sys_pass
        mov eax, dword ptr [rdx + 4]
        cmp eax, 1
        je sys_python
        cmp eax, 5
        jne sys_pass
    sys_python:
        mov rax, qword ptr [rcx]
        jmp rax
    sys_pass:
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
        ldr x5, [x3, #48]
        cbnz x5, block_watch
    block_count:
        add x4, x4, w2, uxtw
        str x4, [x3]
        str x1, [x3, #32]
        mov w6, w2
        str x6, [x3, #40]
        ret
    block_watch:
        tbz x5, #1, block_wfe
        ldp x6, x12, [x3, #32]
        cbz x12, block_wfe_watched
        ldp x7, x8, [x3, #56]
        orr x11, x6, #2
        lsr x9, x6, #2
    block_unmask_probe:
        and x9, x9, x8
        ldr x10, [x7, x9, lsl #3]
        cbz x10, block_wfe_watched
        cmp x10, x11
        b.eq block_after_unmask
        add x9, x9, #1
        b block_unmask_probe
    block_wfe_watched:
        tbz x5, #0, block_count
    block_wfe:
        ldp x5, x6, [x3, #32]
        add x6, x5, x6
        cmp x6, x1
        b.ne block_count
        ldp x7, x8, [x3, #56]
        orr x11, x5, #1
        lsr x9, x5, #2
    block_probe:
        and x9, x9, x8
        ldr x10, [x7, x9, lsl #3]
        cbz x10, block_count
        cmp x10, x11
        b.eq block_after_wfe
        add x9, x9, #1
        b block_probe
    block_after_wfe:
        mov x6, #3
        b block_stopped
    block_after_unmask:
        mov x6, #5
        b block_stopped
    block_stop:
        mov x6, #1
        b block_stopped
    block_misaligned:
        mov x6, #2
    block_stopped:
        str x6, [x3, #24]
        ldr x16, [x3, #16]
        br x16
    """,
    # edge hook (x0=uc, x1=the new block's uc_tb, x2=the previous one, x3=BlockCounter); as on
    # x86-64, with the last two instructions at [sp, #64], a physical address at [sp, #72], the
    # size in x23 and the last instruction's address in x22.
    "edge": """
        ldrh w4, [x1, #10]
        cbz w4, edge_done
        stp x29, x30, [sp, #-80]!
        mov x29, sp
        stp x19, x20, [sp, #16]
        stp x21, x22, [sp, #32]
        str x23, [sp, #48]
        mov x19, x0
        mov x20, x3
        ldr x21, [x1]
        mov x23, x4
        add x22, x21, x4
        sub x22, x22, #4
        ldr x5, [x20, #112]
        cbz x5, edge_words
        mov x1, x21
    edge_mark:
        mov x0, x19
        mov w2, #{UC_PROT_EXEC}
        add x3, sp, #72
        ldr x16, [x20, #96]
        blr x16
        cbnz w0, edge_marked
        ldr x5, [sp, #72]
        lsr x5, x5, #12
        ldr x6, [x20, #112]
        cmp x5, x6
        b.hs edge_marked
        ldr x6, [x20, #104]
        mov w7, #1
        strb w7, [x6, x5]
    edge_marked:
        eor x5, x22, x21
        lsr x5, x5, #12
        cbz x5, edge_words
        mov x1, x22
        mov x22, x21
        b edge_mark
    edge_words:
        add x5, x21, x23
        str xzr, [sp, #64]
        cmp x23, #8
        b.lo edge_one
        sub x1, x5, #8
        add x3, sp, #64
        mov x4, #8
        b edge_read
    edge_one:
        sub x1, x5, #4
        add x3, sp, #68
        mov x4, #4
    edge_read:
        mov x0, x19
        mov w2, #{UC_PROT_EXEC}
        ldr x16, [x20, #88]
        blr x16
        cbnz w0, edge_leave
        ldp w4, w6, [sp, #64]
        movz w5, #{WFE_LO}
        movk w5, #{WFE_HI}, lsl #16
        cmp w6, w5
        b.ne edge_unmask
        movz w5, #{SEVL_LO}
        movk w5, #{SEVL_HI}, lsl #16
        cmp w4, w5
        b.eq edge_leave
        orr x21, x21, #1
        b edge_key
    edge_unmask:
{A64_UNMASK_MATCH}
        b edge_leave
    edge_unmasks:
        orr x21, x21, #2
    edge_key:
        ldp x7, x8, [x20, #56]
        lsr x9, x21, #2
    edge_probe:
        and x9, x9, x8
        ldr x10, [x7, x9, lsl #3]
        cmp x10, x21
        b.eq edge_leave
        cbz x10, edge_insert
        add x9, x9, #1
        b edge_probe
    edge_insert:
        ldp x11, x12, [x20, #72]
        cmp x11, x12
        b.hs edge_full
        str x21, [x7, x9, lsl #3]
        add x11, x11, #1
        str x11, [x20, #72]
        b edge_leave
    edge_full:
        mov x6, #4
        str x6, [x20, #24]
        mov x0, x19
        ldr x16, [x20, #16]
        blr x16
    edge_leave:
        ldr x23, [sp, #48]
        ldp x21, x22, [sp, #32]
        ldp x19, x20, [sp, #16]
        ldp x29, x30, [sp], #80
    edge_done:
        ret
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
    # MRS hook with counter reads (x0=uc, w1=reg, x2=cp_reg, x3=CounterReads) -> w0; as on x86-64.
    "mrs": """
        ldr w4, [x2]
        cmp w4, #14
        b.eq mrs_timer
        cbnz w4, mrs_pass
        ldr w4, [x2, #16]
        cmp w4, #5
        b.ne mrs_pass
        ldr x5, [x3, #72]
        cbz x5, mrs_pass
        ldr x16, [x3]
        br x16
    mrs_timer:
        ldr w4, [x2, #4]
        cbnz w4, mrs_python
        ldr w4, [x2, #8]
        cmp w4, #3
        b.ne mrs_python
        ldr w4, [x2, #12]
        cmp w4, #3
        b.ne mrs_python
        ldr w4, [x2, #16]
        sub w4, w4, #1
        cmp w4, #1
        b.hi mrs_python
        ldr x5, [x3, #8]
        cbz x5, mrs_python
        stp x29, x30, [sp, #-80]!
        mov x29, sp
        stp x19, x20, [sp, #16]
        stp x21, x22, [sp, #32]
        str x23, [sp, #48]
        mov x19, x0
        mov w20, w1
        mov x21, x2
        mov x22, x3
        mov w23, w4
        mov w1, #{PSTATE}
        add x2, sp, #64
        ldr x16, [x22, #48]
        blr x16
        ldr x4, [sp, #64]
        ubfx x4, x4, #2, #2
        add x4, x23, x4, lsl #1
        ldr x5, [x22, #8]
        lsr x5, x5, x4
        tbz x5, #0, mrs_refuse
        ldr x4, [x22, #16]
        cbz x4, mrs_host
        ldr x4, [x4]
        lsr x4, x4, #6
        b mrs_have
    mrs_host:
        mov w0, #{CLOCK_MONOTONIC}
        add x1, sp, #64
        ldr x16, [x22, #64]
        blr x16
        ldp x4, x5, [sp, #64]
        movz x6, #0xca00
        movk x6, #0x3b9a, lsl #16
        madd x4, x4, x6, x5
        ldr x5, [x22, #32]
        sub x4, x4, x5
        lsr x4, x4, #4
    mrs_have:
        ldr x5, [x22, #24]
        add x4, x4, x5
        cbz w23, mrs_write
        ldr x5, [x22, #40]
        sub x4, x4, x5
    mrs_write:
        str x4, [sp, #64]
        mov x0, x19
        mov w1, w20
        add x2, sp, #64
        ldr x16, [x22, #56]
        blr x16
        mov w0, #1
        mov w9, #1
        b mrs_leave
    mrs_refuse:
        mov x0, x19
        mov w1, w20
        mov x2, x21
        mov x3, x22
        mov w9, #0
    mrs_leave:
        ldr x23, [sp, #48]
        ldp x21, x22, [sp, #32]
        ldp x19, x20, [sp, #16]
        ldp x29, x30, [sp], #80
        cbz w9, mrs_python
        ret
    mrs_python:
        ldr x16, [x3]
        br x16
    mrs_pass:
        mov w0, #0
        ret
    """,
    # SYS hook (x0=uc, w1=reg, x2=cp_reg, x3=SysregFilter) -> w0; as on x86-64.
    "sys": """
        ldr w4, [x2]
        cmp w4, #8
        b.eq sys_python
        cmp w4, #7
        b.ne sys_pass
        ldr w4, [x2, #4]
        cmp w4, #1
        b.eq sys_python
        cmp w4, #5
        b.ne sys_pass
    sys_python:
        ldr x16, [x3]
        br x16
    sys_pass:
        mov w0, #0
        ret
    """,
}


def _fill(src: str) -> str:
    """The constants the sources name in braces (an instruction's NAME_LO and NAME_HI too)."""
    src = src.replace("{X86_UNMASK_MATCH}", _unmask_match("x86")).replace("{A64_UNMASK_MATCH}", _unmask_match("a64"))
    words = {"WFE": WFE, "SEVL": SEVL}
    for name, value in (("PSTATE", UC_ARM64_REG_PSTATE), ("CLOCK_MONOTONIC", CLOCK_MONOTONIC),
                        ("UC_PROT_EXEC", UC_PROT_EXEC), ("WATCH_WFE", WATCH_WFE), ("WATCH_UNMASK", WATCH_UNMASK),
                        *words.items(), *((f"{k}_LO", v & 0xFFFF) for k, v in words.items()),
                        *((f"{k}_HI", v >> 16) for k, v in words.items())):
        src = src.replace("{" + name + "}", str(value))
    return src


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
            src = _fill(src)
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


def edge_hook_address() -> int:
    """The hook that records the translated blocks that end in WFE (user data: the
    :class:`BlockCounter` of the block hook)."""
    return _code()["edge"]


def uc_vmem_read_address() -> int:
    return ctypes.cast(uclib.uc_vmem_read, ctypes.c_void_p).value


def sysreg_hook_address() -> int:
    return _code()["sysreg"]


def sys_hook_address() -> int:
    """The SYS filter: IC to the point of unification and TLBI to Python (user data: a
    :class:`SysregFilter`), everything else native."""
    return _code()["sys"]


def mrs_hook_address() -> int:
    """The MRS filter that also serves counter reads (user data: a :class:`CounterReads`)."""
    return _code()["mrs"]


def uc_reg_access_addresses() -> tuple[int, int]:
    """``uc_reg_read`` and ``uc_reg_write``, which the counter reads call."""
    return (ctypes.cast(uclib.uc_reg_read, ctypes.c_void_p).value,
            ctypes.cast(uclib.uc_reg_write, ctypes.c_void_p).value)


@lru_cache(maxsize=1)
def clock_gettime_address() -> int:
    """The C library's ``clock_gettime``, if it reads the clock ``time.monotonic_ns`` reads
    (Linux, checked by calling it once); else 0 and realtime counter reads stay in Python."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        fn = ctypes.CDLL(None, use_errno=True).clock_gettime
        fn.argtypes, fn.restype = [ctypes.c_int, ctypes.c_void_p], ctypes.c_int
        ts = (ctypes.c_int64 * 2)()
        before = time.monotonic_ns()
        if fn(CLOCK_MONOTONIC, ts) != 0:
            return 0
        ns = ts[0] * 1_000_000_000 + ts[1]
        if not before <= ns <= time.monotonic_ns():
            return 0
        return ctypes.cast(fn, ctypes.c_void_p).value
    except (OSError, AttributeError):
        return 0
