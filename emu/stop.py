"""Why a run stopped: one kind per cause, and the result run() returns.

Tools pause a run with a kind (``Machine.pause(Stop.BREAKPOINT)``) and look at the kind they
get back, never at the words: ``RunResult.reason`` is for people, and may carry details (the
exit code, the instruction count) that the kind does not.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Stop(enum.Enum):
    # The guest ended the run.
    SEMIHOST_EXIT = "semihosting exit"     # SYS_EXIT / SYS_EXIT_EXTENDED
    POWER_OFF = "power off"                # PSCI SYSTEM_OFF or SYSTEM_RESET
    GUEST_FAULT = "guest fault"            # a fault the guest cannot recover from
    # The run's limits.
    INSN_LIMIT = "instruction limit"       # --max-insns: the run ends
    INSN_PAUSE = "instruction pause"       # run(max_insns, pause_at_limit=True): it pauses
    TIME_LIMIT = "virtual time limit"      # run(until_counter=...)
    # Tools that paused it.
    BREAKPOINT = "breakpoint"
    WATCHPOINT = "watchpoint"
    STEP = "step"
    TRAP = "trap"                          # gdb's catch of an exception entry
    DEBUGGER_INTERRUPT = "interrupt"       # gdb's Ctrl-C
    SIGNAL = "interrupted"                 # SIGINT or SIGTERM to emu
    OUTPUT_FAILED = "stdout failed"        # the console's output cannot be written
    SNAPSHOT = "snapshot"                  # --snapshot-at
    UART_MATCH = "uart match"              # the pytest plugin's expect() found its line
    PAUSED = "paused"                      # any other pause through the API
    # Ours.
    EMULATOR_ERROR = "emulator error"


@dataclass
class RunResult:
    exit_code: int | None     # None when the run was paused (pause()), not ended
    stop: Stop
    diagnostic: str | None = None
    text: str | None = None   # the reason in words, where it says more than the kind

    @property
    def paused(self) -> bool:
        return self.exit_code is None

    @property
    def reason(self) -> str:
        return self.text or self.stop.value
