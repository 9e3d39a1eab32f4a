"""The cores of a machine, and how they share one host thread.

Each core is its own Unicorn instance (Unicorn has one CPU per instance), all over the same
host memory for RAM, each with the board's devices mapped into its address space. Its CPU
glue, instruction counter, generic timers and MMIO bus are its own. Unicorn instances must
not run in parallel host threads: two of them lose increments to shared memory with plain
stores, LDXR/STXR and LDADD alike.

**Scheduling (the virtual-time contract).** The run loop runs one core at a time, round robin
in core order, each for at most ``quantum`` retired instructions (``--quantum``, default
QUANTUM). A core's turn ends early when it waits (WFI), executes WFE, is powered off, or stops
for anything the run loop handles (an interrupt to take, a device access that ends in a stop).
A core in WFE waits for another core's SEV or store (Linux's spinlock unlock has no SEV), which
can only come in another core's turn, so its turn ends there; it stays runnable and goes on
after the WFE at its next turn, where the guest looks again (SEVL just before the WFE, or an
unmasked interrupt pending, lets it complete at once instead). Virtual time is one timeline:
the counter advances with the instructions of whichever core runs, one tick per 16
(emu/cpu/clock.py), so N busy cores share the 1 GHz virtual rate. A core in WFI costs
no time; when every powered core waits, time skips to the next deadline. So the same image
and input give the same interleaving, transcript and trace every run.

**Power.** Core 0 starts at reset; the others are off until PSCI CPU_ON starts them at the
boot EL with x0 = the context ID (QEMU virt's "start-powered-off" secondaries).

**MPIDR.** Core N reads MPIDR_EL1 = 0x8000000N: at EL2 and above the MRS filter answers it
(emu/cpu/timer_glue.py), at EL1 the CPU returns VMPIDR_EL2, which the reset sets to the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from unicorn import Uc

#: Instructions a core runs before the next one gets its turn.
QUANTUM = 10_000
MAX_CORES = 4


def mpidr_of(index: int) -> int:
    """MPIDR_EL1 of core ``index``: U = 0, MT = 0, Aff0 = the index, and the RES1 bit 31."""
    return 0x8000_0000 | index


@dataclass
class Core:
    index: int
    uc: Uc
    mmio: object                      # its MmioBus
    cpu: object = None                # its Cpu (emu/cpu/core.py)
    icount: object = None             # its InstructionCounter
    timer: object = None              # its GenericTimer
    timer_regs: object = None         # its TimerRegisters
    ppi_lines: dict = field(default_factory=dict)
    powered: bool = False             # on (PSCI), running or waiting
    waiting: bool = False             # in WFI: skipped until an interrupt is pending for it
    turn_end: int = 0                 # retired count at which its current turn ends

    @property
    def mpidr(self) -> int:
        return mpidr_of(self.index)
