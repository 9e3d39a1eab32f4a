"""The guest's memory as tools see it: physical reads and writes of RAM and ROM, translation of
a virtual address through the guest's own tables (stage 1, then stage 2), symbols, and
disassembly. Tracing, gdb, semihosting, diagnostics and snapshots use it; none of it changes
what the guest sees.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs
from unicorn import UcError

from .cpu.mmu import walk_stage1, walk_stage2
from .errors import EmuError

if TYPE_CHECKING:
    from .machine import Machine

PAGE_SIZE = 0x1000


class GuestView:
    def __init__(self, machine: "Machine"):
        self.m = machine
        self._tenant_by_vttbr: dict[int, str | None] = {}
        self._cs = Cs(CS_ARCH_ARM64, CS_MODE_ARM)

    def tenant_name(self) -> str | None:
        """The tenant whose RAM the current stage-2 tables map at its IPA base, if any."""
        if not self.m.tenants or not self.m.cpu.read_sysreg("HCR_EL2") & 1:
            return None
        vttbr = self.m.cpu.read_sysreg("VTTBR_EL2")
        cache = self._tenant_by_vttbr
        if vttbr not in cache:
            name = None
            for t in self.m.tenants:
                if self.translate(t.ipa, el=1) == t.pa:
                    name = t.name
                    break
            cache[vttbr] = name
        return cache[vttbr]

    # -- memory as the guest sees it --------------------------------------------------------------

    def is_memory(self, pa: int, size: int) -> bool:
        """True when [pa, pa + size) lies in one RAM or ROM region (not a device, not a hole)."""
        return any(r.base <= pa and pa + size <= r.base + r.size for r in self.m.board.memory.values())

    def read_phys(self, addr: int, size: int) -> bytes:
        """Bytes of RAM or ROM. Device registers are refused: reading one through Unicorn would
        run the device's read handler (pop a UART FIFO, acknowledge an interrupt)."""
        if size < 0 or not self.is_memory(addr, size):
            raise EmuError(f"physical address {addr:#x} ({size} bytes) is not memory")
        if not any(b.base < addr + size and addr < b.base + b.size for b in self.m.rom_banks):
            return bytes(self.m.uc.mem_read(addr, size))
        out = bytearray()
        for pa, n, bank in self._pieces(addr, size):
            # Flash reads as its array whatever mode the device is in (as QEMU's gdbstub
            # reads a ROM device's RAM), and never through the device.
            out += bank.backing[pa - bank.base:pa - bank.base + n] if bank else self.m.uc.mem_read(pa, n)
        return bytes(out)

    def write_phys(self, addr: int, data: bytes) -> None:
        """Bytes into RAM or ROM from outside the guest (a loader, a debugger, a device's DMA):
        flash arrays are written as they are, not through the flash command set. A core that
        has translated code from the pages written drops all its translated code: Unicorn
        notices only its own CPU's stores, and it can drop code by virtual address only, which
        says nothing once a guest's MMU is on. A DMA into a page of data costs nothing."""
        if not self.is_memory(addr, len(data)):
            raise EmuError(f"physical address {addr:#x} ({len(data)} bytes) is not memory")
        pos = 0
        for pa, n, bank in self._pieces(addr, len(data)):
            if bank is not None:
                bank.write_array(pa - bank.base, data[pos:pos + n])
            else:
                self.m.uc.mem_write(pa, bytes(data[pos:pos + n]))
            pos += n
        if data:
            for core in self.m.cores:
                if core.icount.may_hold_code(addr, len(data)):
                    core.uc.ctl_flush_tb()
                    core.icount.code_dropped()

    def _pieces(self, addr: int, size: int):
        """(pa, length, ROM bank or None) covering [addr, addr + size), split at bank edges."""
        end = addr + size
        while addr < end:
            bank = self.m._rom_bank_at(addr)
            if bank is not None:
                stop = min(end, bank.base + bank.size)
            else:
                stop = min([end] + [b.base for b in self.m.rom_banks if addr < b.base < end])
            yield addr, stop - addr, bank
            addr = stop

    def translate(self, va: int, el: int | None = None) -> int | None:
        """PA of a guest virtual address as the CPU sees it at ``el``: stage 1 when its MMU is
        on (SCTLR_ELx.M), then stage 2 for EL0/EL1 under HCR_EL2.VM. None if unmapped, or if
        the guest's translation tables point outside memory."""
        try:
            return self._translate(va, self.m.cpu.el if el is None else el)
        except (EmuError, UcError):
            return None

    def _translate(self, va: int, el: int) -> int | None:
        cpu = self.m.cpu
        read = lambda a: struct.unpack("<Q", self.read_phys(a, 8))[0]
        if el >= 2:
            if not cpu.read_sysreg("SCTLR_EL2") & 1:
                return va
            return walk_stage1(va, cpu.read_sysreg("TCR_EL2"), cpu.read_sysreg("TTBR0_EL2"), None, read).pa
        hcr = cpu.read_sysreg("HCR_EL2")
        if hcr & 1:
            vttbr, vtcr = cpu.read_sysreg("VTTBR_EL2"), cpu.read_sysreg("VTCR_EL2")
            stage2 = lambda ipa: walk_stage2(vttbr, vtcr, ipa, read).pa
        else:
            stage2 = lambda ipa: ipa
        if not cpu.read_sysreg("SCTLR_EL1") & 1:
            return stage2(va)
        ipa = walk_stage1(va, cpu.read_sysreg("TCR_EL1"), cpu.read_sysreg("TTBR0_EL1"),
                          cpu.read_sysreg("TTBR1_EL1"), read, stage2).pa
        return None if ipa is None else stage2(ipa)

    def read_guest(self, va: int, size: int, el: int | None = None, physical: bool = False) -> bytes:
        """Up to ``size`` bytes at ``va`` as the CPU sees them at ``el`` (the current EL by
        default; ``physical``: untranslated), page by page; stops early at the first page that
        is unmapped or is not memory, so the caller learns how much it could read."""
        out = bytearray()
        while len(out) < size:
            addr = va + len(out)
            if addr >= 1 << 64:
                break
            chunk = min(size - len(out), PAGE_SIZE - (addr & (PAGE_SIZE - 1)))
            try:
                pa = addr if physical else self.translate(addr, el)
                if pa is None or not self.is_memory(pa, chunk):
                    break
                out += self.m.uc.mem_read(pa, chunk)
            except (EmuError, UcError):
                break  # the translation tables themselves are not readable
        return bytes(out)

    def read_virtual(self, addr: int, size: int) -> bytes:
        data = self.read_guest(addr, size)
        if len(data) < size:
            raise EmuError(f"guest address {addr + len(data):#x} is not mapped")
        return data

    def symbolize(self, addr: int, el: int | None = None) -> str:
        pa = self.translate(addr, el)
        name = self.m.symbols.lookup(pa) if pa is not None else None
        return name or "?"

    def disassemble(self, addr: int, el: int | None = None) -> str:
        pa = self.translate(addr, el)
        if pa is None:
            return "(unmapped)"
        try:
            code = self.read_phys(pa, 4)
        except (EmuError, UcError):
            return "(unmapped)"
        for insn in self._cs.disasm(code, addr):
            return f"{insn.mnemonic} {insn.op_str}".strip()
        return f".inst {int.from_bytes(code, 'little'):#010x}"

    # -- platform services ------------------------------------------------------------------------
