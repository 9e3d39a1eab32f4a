"""The two kinds of device log line, as in QEMU's ``-d guest_errors`` and ``-d unimp``.

A device never raises on guest behaviour. When the guest does something the spec calls
wrong (an unknown offset, a bad access size, a write to a read-only register) the device
reports a *guest error*; when the guest uses a register or a mode we know but do not model,
it reports *unimplemented*. Both go to a sink the machine passes in: any callable
``sink(kind, source, message)``. Without one, lines go to Python's ``logging`` under the
``emu.devices`` logger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

GUEST_ERROR = "guest_error"
UNIMP = "unimp"

LogSink = Callable[[str, str, str], None]
"""``sink(kind, source, message)``: kind is GUEST_ERROR or UNIMP, source the device name."""

_logger = logging.getLogger("emu.devices")


def logging_sink(kind: str, source: str, message: str) -> None:
    """The default sink: guest errors as warnings, unimplemented features as info."""
    level = logging.WARNING if kind == GUEST_ERROR else logging.INFO
    _logger.log(level, "%s: %s: %s", source, kind, message)


@dataclass(frozen=True)
class LogEntry:
    kind: str
    source: str
    message: str


class RecordingLog:
    """A sink that keeps every line, for tests and for the pytest plugin's reports."""

    def __init__(self) -> None:
        self.entries: list[LogEntry] = []

    def __call__(self, kind: str, source: str, message: str) -> None:
        self.entries.append(LogEntry(kind, source, message))

    @property
    def guest_errors(self) -> list[str]:
        return [e.message for e in self.entries if e.kind == GUEST_ERROR]

    @property
    def unimplemented(self) -> list[str]:
        return [e.message for e in self.entries if e.kind == UNIMP]

    def clear(self) -> None:
        self.entries.clear()
