"""Where the guest's console goes."""

from __future__ import annotations

import sys
from typing import Callable


class Console:
    """Where the UART's bytes go: a stream (stdout by default) and a transcript kept for tests."""

    def __init__(self, out=None, echo: bool = True):
        self._out = out if out is not None else sys.stdout.buffer
        self.echo = echo
        self.transcript = bytearray()
        self.listeners: list[Callable[[bytes], None]] = []

    def write(self, data: bytes) -> None:
        self.transcript += data
        if self.echo:
            self._out.write(data)
            if b"\n" in data:
                self._out.flush()
        for fn in self.listeners:
            fn(data)

    def flush(self) -> None:
        if self.echo:
            self._out.flush()

    @property
    def text(self) -> str:
        return self.transcript.decode("utf-8", "replace")
