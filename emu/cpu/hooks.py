"""Every Unicorn hook goes through one registry, as Qiling's core hooks do.

Unicorn bakes some hooks into the code it translates: code, block, instruction and memory
access hooks are looked up when a block is translated, so a block translated before the hook
was added never calls it, and one translated while it existed keeps calling it after it is
gone. An edge hook is called as a block is translated, so it never hears of one translated
before it came. The registry drops the translated code whenever such a hook comes or goes; the
callers no longer each remember to. Other kinds (interrupts, invalid accesses) are looked up as
they happen and need nothing.

A hook added through the registry is on every core's Unicorn, so a breakpoint or a watchpoint
holds whichever core gets there; the callback's first argument says which Unicorn it was. A hook
with per-core state (the Python block counter, where native code is missing) names its Unicorn.
Native hooks (C callbacks with per-core data: the block counter, the MRS/MSR filter, the
interrupt hook) are added for one Unicorn with ``add_native``.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

from unicorn import (
    UC_HOOK_BLOCK,
    UC_HOOK_CODE,
    UC_HOOK_EDGE_GENERATED,
    UC_HOOK_INSN,
    UC_HOOK_MEM_FETCH,
    UC_HOOK_MEM_READ,
    UC_HOOK_MEM_READ_AFTER,
    UC_HOOK_MEM_WRITE,
    Uc,
)
from unicorn.unicorn_py3.unicorn import uc_hook_h, uclib

#: Hook kinds that Unicorn compiles into translated blocks, or calls as it translates them.
TRANSLATED = (UC_HOOK_CODE | UC_HOOK_BLOCK | UC_HOOK_INSN | UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE
              | UC_HOOK_MEM_FETCH | UC_HOOK_MEM_READ_AFTER | UC_HOOK_EDGE_GENERATED)


@dataclass
class Hook:
    kind: int
    handles: list[tuple[Uc, object]] = field(default_factory=list)   # (Unicorn, its handle)


class HookRegistry:
    def __init__(self):
        self._ucs: list[Uc] = []
        self._hooks: list[Hook] = []
        self._keep: list[object] = []   # ctypes objects a native hook points at

    def attach(self, uc: Uc) -> None:
        """A core's Unicorn: hooks added from now on are on it too."""
        self._ucs.append(uc)

    def add(self, kind: int, callback, user_data=None, begin: int = 1, end: int = 0, insn: int = 0,
            uc: Uc | None = None) -> Hook:
        """``uc.hook_add`` on every core, or on ``uc`` only (begin > end: the whole address space;
        ``insn``: the instruction of a UC_HOOK_INSN)."""
        hook = Hook(kind)
        for target in self._ucs if uc is None else [uc]:
            hook.handles.append((target, target.hook_add(kind, callback, user_data, begin, end, insn)))
        self._hooks.append(hook)
        if kind & TRANSLATED:
            for target, _ in hook.handles:
                target.ctl_flush_tb()
        return hook

    def add_native(self, uc: Uc, kind: int, callback: int, user: int | None, begin: int = 1, end: int = 0,
                   insn: int | None = None, keep: object = None) -> Hook:
        """A C callback at address ``callback`` with ``user`` as its data pointer, on one Unicorn.
        ``insn`` is the instruction of a UC_HOOK_INSN; ``keep`` is held as long as the hook."""
        hh = uc_hook_h()
        extra = (ctypes.c_int(insn),) if insn is not None else ()
        err = uclib.uc_hook_add(uc._uch, ctypes.byref(hh), kind, ctypes.c_void_p(callback), ctypes.c_void_p(user),
                                ctypes.c_uint64(begin), ctypes.c_uint64(end), *extra)
        if err:
            raise RuntimeError(f"uc_hook_add(kind {kind:#x}) failed ({err})")
        hook = Hook(kind, [(uc, hh)])
        self._hooks.append(hook)
        if keep is not None:
            self._keep.append(keep)
        if kind & TRANSLATED:
            uc.ctl_flush_tb()
        return hook

    def remove(self, hook: Hook) -> None:
        if hook not in self._hooks:
            return
        self._hooks.remove(hook)
        for uc, handle in hook.handles:
            if isinstance(handle, uc_hook_h):
                uclib.uc_hook_del(uc._uch, handle)
            else:
                uc.hook_del(handle)
            if hook.kind & TRANSLATED:
                uc.ctl_flush_tb()

    def flush_translations(self) -> None:
        """Drop every core's translated code (hooks changed, or code was patched from outside)."""
        for uc in self._ucs:
            uc.ctl_flush_tb()
