"""Errors that end a command with one clear line and a non-zero exit code."""


class EmuError(Exception):
    """A user-facing failure: bad input, a guest that cannot run, a tool that is missing.

    The CLI prints ``emu: <message>`` and exits with ``exit_code``; it never shows a traceback.
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ImageError(EmuError):
    """An image that cannot be loaded: foreign, truncated, or outside RAM."""


class AsmError(EmuError):
    """An assembler error, reported as ``file:line: message``."""
