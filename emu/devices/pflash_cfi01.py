"""Intel/Sharp command-set parallel NOR flash (CFI command set 0x0001), one bank, with the
behaviour of QEMU 7.2's hw/block/pflash_cfi01.c as QEMU's virt board configures it
(hw/arm/virt.c virt_flash_create1): 64 MiB banks of 256 KiB sectors, 32 bits wide, built of
two x16 devices side by side (``width`` 4, ``device-width`` 2), manufacturer 0x89, device
0x18. The Common Flash Interface is JEDEC JESD68; the commands are Intel's (e.g. the 28F
StrataFlash datasheets).

Interface
    Storage   ``storage``, a writable buffer of the bank's size: the array itself. The machine
              maps the same host memory as the bank's ROM, so instructions execute from it.
    ROMD      ``romd`` is QEMU's "ROM device" mode: True while the bank is in read-array mode,
              when reads come straight from ``storage`` (the machine maps it as memory and
              only writes reach ``write``); False once a write has started a command, when
              every access must come here (the machine maps the bank as MMIO) until the
              command sequence returns to read array. ``on_romd`` is called on each change.
    MMIO      any offset of the bank; accesses of 1, 2, 4 bytes, 8 as two 4-byte halves (low
              first, as QEMU's memory core splits them).
    Commands  0xFF/0x00 read array, 0x90 read identifier, 0x98 CFI query, 0x70 read status,
              0x50 clear status, 0x10/0x40 word program, 0x20 + 0xD0 block erase, 0x60 + 0xD0/0x01
              block (un)lock (accepted, nothing locks), 0xE8 write to buffer (as QEMU: data goes
              straight to the array), 0xF0 (AMD reset) returns to read array.
    Not modelled
              timing (every operation is done at once, SR.7 ready), suspend, protection
              registers, locking; write-protect (the bank is always writable, as QEMU's with no
              read-only drive).

As QEMU: a block erase happens on the 0x20 write and the 0xD0 only confirms it; an unknown
command or sequence is logged as *unimplemented* and returns the bank to read array; the CFI
query and identifier reads replicate each x16 device's answer into both halves of a word.
"""

from __future__ import annotations

from typing import Any, Callable

from .base import MmioDevice
from .log import LogSink

# Commands (first cycle).
CMD_READ_ARRAY = 0xFF
CMD_READ_ARRAY_QEMU = 0x00  # QEMU's reset value of ``cmd`` for read array (not a CFI command)
CMD_PROGRAM = 0x40
CMD_PROGRAM_ALT = 0x10
CMD_BLOCK_ERASE = 0x20
CMD_CLEAR_STATUS = 0x50
CMD_LOCK = 0x60
CMD_READ_STATUS = 0x70
CMD_READ_ID = 0x90
CMD_CFI_QUERY = 0x98
CMD_WRITE_BUFFER = 0xE8
CMD_AMD_RESET = 0xF0
CMD_CONFIRM = 0xD0
CMD_LOCK_SET = 0x01

# Status register bits.
SR_READY = 0x80
SR_ERASE_ERROR = 0x20
SR_PROGRAM_ERROR = 0x10

# QEMU virt's flash (hw/arm/virt.c).
VIRT_SECTOR = 256 << 10
VIRT_WIDTH = 4
VIRT_DEVICE_WIDTH = 2
VIRT_IDS = (0x89, 0x18)

# Commands whose reads return the status register (QEMU pflash_read).
_STATUS_READS = {0x10, 0x20, 0x28, 0x40, 0x50, 0x60, 0x70, 0xE8}


def cfi_table(bank_size: int, sector: int, width: int, device_width: int) -> bytes:
    """The query table one device answers (QEMU pflash_cfi01_realize's hard-coded table)."""
    devices = width // device_width
    blocks = bank_size // sector
    sector_per_device = sector // devices
    device_len = sector_per_device * blocks
    t = bytearray(0x52)
    t[0x10:0x13] = b"QRY"
    t[0x13], t[0x15] = 0x01, 0x31            # Intel command set, extended table at 0x31
    t[0x1B], t[0x1C] = 0x45, 0x55            # Vcc min, max
    t[0x1F:0x27] = bytes((0x07, 0x07, 0x0A, 0x00, 0x04, 0x04, 0x04, 0x00))  # timeouts
    t[0x27] = device_len.bit_length() - 1    # device size, log2
    t[0x28] = 0x02                           # x8/x16 interface
    t[0x2A] = 0x08 if width == 1 else 0x0B   # log2 of the write buffer
    t[0x2C] = 0x01                           # one erase block region
    t[0x2D], t[0x2E] = (blocks - 1) & 0xFF, ((blocks - 1) >> 8) & 0xFF
    t[0x2F], t[0x30] = (sector_per_device >> 8) & 0xFF, (sector_per_device >> 16) & 0xFF
    t[0x31:0x36] = b"PRI10"
    t[0x3F] = 0x01                           # number of protection fields
    return bytes(t)


class PflashCfi01(MmioDevice):
    """One CFI flash bank (Intel command set). See the module docstring for the interface.

    The bank is an array, not a register file: there are no registers to declare, so
    ``read``/``write`` are the command state machine itself, as QEMU's pflash_read/write."""

    def __init__(self, storage, *, sector: int = VIRT_SECTOR, width: int = VIRT_WIDTH,
                 device_width: int = VIRT_DEVICE_WIDTH, ids: tuple[int, int] = VIRT_IDS,
                 on_romd: Callable[[bool], None] | None = None, log: LogSink | None = None,
                 name: str = "pflash"):
        super().__init__(log=log, name=name)
        self.storage = memoryview(storage).cast("B")
        self.SIZE = len(self.storage)
        self.sector = sector
        self.width = width
        self.device_width = device_width
        self.ids = ids
        self.on_romd = on_romd
        self.cfi = cfi_table(self.SIZE, sector, width, device_width)
        self.writeblock_size = (1 << self.cfi[0x2A]) * (width // device_width)
        self._shift = width.bit_length() - 1     # ctz(width): max device width = device width
        self.reset()

    # --- state -------------------------------------------------------------------------

    def reset(self) -> None:
        self.cmd = CMD_READ_ARRAY_QEMU
        self.wcycle = 0
        self.status = SR_READY  # the write state machine is ready at reset (QEMU)
        self.counter = 0
        self._set_romd(True)

    def _set_romd(self, romd: bool) -> None:
        changed = getattr(self, "romd", None) != romd
        self.romd = romd
        if changed and self.on_romd is not None:
            self.on_romd(romd)

    def state(self) -> dict[str, Any]:
        return {"cmd": self.cmd, "wcycle": self.wcycle, "status": self.status,
                "counter": self.counter, "romd": self.romd}

    def from_state(self, state: dict[str, Any]) -> None:
        self.cmd = int(state.get("cmd", 0))
        self.wcycle = int(state.get("wcycle", 0))
        self.status = int(state.get("status", 0))
        self.counter = int(state.get("counter", 0))
        self._set_romd(bool(state.get("romd", True)))

    # --- reads ---------------------------------------------------------------------------

    def _replicate(self, resp: int) -> int:
        """One device's answer in every device's lanes of the bank (QEMU deposit32 loop)."""
        dw = 8 * self.device_width
        for i in range(self.device_width, self.width, self.device_width):
            resp |= (resp & ((1 << dw) - 1)) << (8 * i)
        return resp & 0xFFFF_FFFF

    def _cfi_query(self, offset: int) -> int:
        boff = offset >> self._shift
        return self._replicate(self.cfi[boff]) if boff < len(self.cfi) else 0

    def _devid_query(self, offset: int) -> int:
        boff = (offset >> self._shift) & 0xFF
        if boff > 1:
            return 0
        return self._replicate(self.ids[boff])

    def _data(self, offset: int, size: int) -> int:
        end = min(offset + size, self.SIZE)
        return int.from_bytes(self.storage[offset:end], "little")

    def read(self, offset: int, size: int) -> int:
        if size == 8:
            return self.read(offset, 4) | self.read(offset + 4, 4) << 32
        mask = (1 << (8 * size)) - 1
        cmd = self.cmd
        if cmd in (CMD_READ_ARRAY_QEMU,):
            value = self._data(offset, size)
        elif cmd in _STATUS_READS:
            value = self.status
            if size > self.device_width:
                for shift in range(8 * self.device_width, 8 * size, 8 * self.device_width):
                    value |= self.status << shift
        elif cmd == CMD_READ_ID:
            value = self._devid_query(offset)
        elif cmd == CMD_CFI_QUERY:
            value = self._cfi_query(offset)
        else:  # cannot happen; QEMU resets to read array and reads the array
            self.wcycle, self.cmd = 0, CMD_READ_ARRAY_QEMU
            value = self._data(offset, size)
        value &= mask
        if self.trace is not None:
            self.trace(self.name, "read", offset, size, value, None)
        return value

    # --- writes --------------------------------------------------------------------------

    def _program(self, offset: int, size: int, value: int) -> None:
        end = min(offset + size, self.SIZE)
        self.storage[offset:end] = value.to_bytes(size, "little")[:end - offset]

    def write(self, offset: int, size: int, value: int) -> None:
        if size == 8:
            self.write(offset, 4, value & 0xFFFF_FFFF)
            self.write(offset + 4, 4, value >> 32)
            return
        value &= (1 << (8 * size)) - 1
        if self.trace is not None:
            self.trace(self.name, "write", offset, size, value, None)
        cmd = value & 0xFF
        if self.wcycle == 0:
            self._set_romd(False)  # any write starts a command: reads come here now
            if cmd == CMD_READ_ARRAY_QEMU or cmd in (CMD_READ_ARRAY, CMD_AMD_RESET):
                return self._read_array()
            if cmd in (CMD_PROGRAM, CMD_PROGRAM_ALT, CMD_LOCK, CMD_CFI_QUERY):
                pass
            elif cmd == CMD_BLOCK_ERASE:
                base = offset & ~(self.sector - 1)
                self.storage[base:base + self.sector] = b"\xff" * self.sector
                self.status |= SR_READY
            elif cmd == CMD_CLEAR_STATUS:
                self.status = 0
                return self._read_array()
            elif cmd in (CMD_READ_STATUS, CMD_READ_ID):
                self.cmd = cmd
                return
            elif cmd == CMD_WRITE_BUFFER:
                self.unimp("write to buffer writes straight to the array (as QEMU)", once="e8")
                self.status |= SR_READY
            else:
                return self._error(offset, value)
            self.wcycle = 1
            self.cmd = cmd
        elif self.wcycle == 1:
            if self.cmd in (CMD_PROGRAM, CMD_PROGRAM_ALT):
                self._program(offset, size, value)
                self.status |= SR_READY
                self.wcycle = 0
            elif self.cmd in (CMD_BLOCK_ERASE, 0x28):
                if cmd == CMD_CONFIRM:
                    self.wcycle = 0
                    self.status |= SR_READY
                elif cmd == CMD_READ_ARRAY:
                    return self._read_array()
                else:
                    return self._error(offset, value)
            elif self.cmd == CMD_WRITE_BUFFER:
                self.counter = value & ((1 << (8 * self.device_width)) - 1)
                self.wcycle = 2
            elif self.cmd == CMD_LOCK:
                if cmd in (CMD_CONFIRM, CMD_LOCK_SET):
                    self.wcycle = 0
                    self.status |= SR_READY
                else:  # 0xFF, or an unknown (un)locking command: read array (QEMU)
                    return self._read_array()
            elif self.cmd == CMD_CFI_QUERY:
                if cmd == CMD_READ_ARRAY:
                    return self._read_array()
                # anything else leaves the bank in query mode (QEMU)
            else:
                return self._error(offset, value)
        elif self.wcycle == 2 and self.cmd == CMD_WRITE_BUFFER:
            if offset + size <= self.SIZE:
                self._program(offset, size, value)
            else:
                self.status |= SR_PROGRAM_ERROR
            self.status |= SR_READY
            if not self.counter:
                self.wcycle = 3
            self.counter = (self.counter - 1) & 0xFFFF_FFFF
        elif self.wcycle == 3 and self.cmd == CMD_WRITE_BUFFER:
            if cmd == CMD_CONFIRM:
                self.wcycle = 0
                self.status |= SR_READY
            else:
                self.unimp("aborting a write to buffer: the data is already in the array")
                return self._read_array()
        else:
            return self._error(offset, value)

    def _error(self, offset: int, value: int) -> None:
        self.unimp(f"unimplemented flash command sequence (offset {offset:#x}, wcycle {self.wcycle}, "
                   f"cmd {self.cmd:#x}, value {value:#x})")
        self._read_array()

    def _read_array(self) -> None:
        self.wcycle = 0
        self.cmd = CMD_READ_ARRAY_QEMU
        self._set_romd(True)
