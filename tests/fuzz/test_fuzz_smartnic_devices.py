"""Seeded fuzzing of the SmartNIC devices as a hostile guest and a hostile memory see them: random
register accesses to every page of the TOE and the SMMU, random bytes where the SMMU reads its
stream table, tables and command queue, and random DMA through its streams. Nothing may raise
but a DmaFault out of a stream; a refused transfer writes nothing; and a stream whose STE is not
a stage-2 one can never reach memory outside what its tables map."""

from __future__ import annotations

import random

import pytest

from emu.devices.irq import IrqLine
from emu.devices.log import RecordingLog
from emu.devices.smmuv3 import Smmuv3
from emu.devices.toe import PAGE, SESSIONS, Toe
from emu.mem.dma import DmaFault

from dmamem import FlatMemory

MEMORY = 1 << 20


def Memory(rng):
    """Random bytes from address 0 as the devices' physical port."""
    return FlatMemory(MEMORY, rng.randbytes(MEMORY))


def value(rng) -> int:
    return rng.choice([0, 1, 2, 3, 4, 5, 6, 0xFF, 0xFFFF, 0xFFFF_FFFF, rng.getrandbits(32), rng.getrandbits(64),
                       rng.randrange(MEMORY), 0x7000, 31])


@pytest.mark.parametrize("seed", range(8))
def test_random_guest_accesses_to_the_smmu_never_raise(seed):
    rng = random.Random(seed)
    memory = Memory(rng)
    smmu = Smmuv3(memory, log=RecordingLog())
    offsets = [0x00, 0x04, 0x14, 0x20, 0x24, 0x28, 0x2C, 0x44, 0x50, 0x54, 0x60, 0x64, 0x80, 0x84, 0x88, 0x90, 0x94,
               0x98, 0x9C, 0xA0, 0xA4, 0xA8, 0xAC, 0x100A8, 0x100AC, 0x1FFFC, 0x3]
    for _ in range(400):
        off = rng.choice(offsets)
        size = rng.choice([1, 2, 4, 8])
        if rng.random() < 0.6:
            smmu.write(off, size, value(rng) & ((1 << (8 * size)) - 1))
        else:
            smmu.read(off, size)
        if rng.random() < 0.3:
            addr, size = value(rng), rng.choice([1, 8, 4096, 5000])
            stream = smmu.stream(rng.randrange(1 << 16))
            before = bytes(memory.mem)
            try:
                if rng.random() < 0.5:
                    stream.write(addr, b"\xAA" * size)
                else:
                    stream.read(addr, size)
            except DmaFault:
                # A refused transfer wrote nothing; only the SMMU's own event record may have
                # changed memory, in its event queue.
                base = smmu.regs["EVENTQ_BASE"] & ((1 << 52) - 1) & ~0x1F
                end = base + (32 << 8)
                assert memory.mem[:base] == before[:base] and memory.mem[end:] == before[end:]
            if rng.random() < 0.2:                       # the guest rewrites what the SMMU reads
                at = rng.randrange(MEMORY - 64)
                memory.mem[at:at + 64] = rng.randbytes(64)


@pytest.mark.parametrize("seed", range(8))
def test_random_tenant_accesses_to_the_toe_never_raise(seed):
    rng = random.Random(100 + seed)
    memory = Memory(rng)

    class Clock:
        t = 0

        def now(self):
            return self.t

    irqs = [IrqLine(None, f"s{s}") for s in range(SESSIONS)]
    toe = Toe(irqs, Clock(), lambda sid: memory, net=None, log=RecordingLog())
    regs = [0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x28, 0x2C, 0x30, 0x34, 0x38, 0x3C, 0x40,
            0x44, 0x48, 0x4C, 0x50, 0xFFC]
    mgmt = [0x008, 0x010, 0x014, 0x018, 0x01C, 0x020, 0x100, 0x104, 0x1F0, 0x400, 0x404, 0x408, 0x40C, 0x410, 0x4E0]
    for _ in range(600):
        if rng.random() < 0.25:
            off = rng.choice(mgmt)
        else:
            off = PAGE * (1 + rng.randrange(SESSIONS)) + rng.choice(regs)
        size = rng.choice([1, 2, 4, 8])
        if rng.random() < 0.7:
            toe.write(off, size, value(rng) & ((1 << (8 * size)) - 1))
        else:
            toe.read(off, size)
    # Whatever happened, each session's state is one the TOE knows and its buffers are bounded.
    for s, sess in enumerate(toe.sessions):
        assert 0 <= sess.state <= 5 and len(sess.rx) <= 64 << 10 and len(sess.tx) <= 64 << 10
        assert toe.read(PAGE * (1 + s) + 0x10, 4) == sess.state
