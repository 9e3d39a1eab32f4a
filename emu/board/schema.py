"""A small declarative schema for the TOML data files (boards, manifests).

A schema is a tree of checkers: :class:`Int`, :class:`Str`, :class:`Table` (fixed keys),
:class:`TableOf` (named entries of one shape), :class:`ArrayOf`. ``checker.check(value, key)``
returns the value or raises :class:`Invalid` naming the key as a dotted path
(``memory.ram.size``, ``device[0].irq``). :func:`validate` turns that into one line,
``FILE: KEY: message``, as an :class:`EmuError`.

Values are never echoed whole: a message shows a short form (a table is "a table"), so a
deeply nested or huge value cannot blow up the message. :func:`read_toml` reads a file with
the same care: size cap, UTF-8, TOML syntax and nesting too deep for the parser all end in one
line naming the file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol

from ..errors import EmuError

MAX_FILE_BYTES = 1 << 20  # a board or manifest file is a page of text; more is a mistake


class Invalid(Exception):
    """A value that does not fit the schema: ``key`` (dotted path) and what is wrong."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
        self.message = message


class Checker(Protocol):
    def check(self, value: Any, key: str) -> Any: ...


def show(value: Any, hex: bool = False) -> str:
    """A short, one-line description of a TOML value for an error message (integers in hex
    if ``hex``: addresses and sizes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:#x}" if hex else str(value)
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:40] + "..."
        return repr(text)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"  # float, date, time


def join(key: str, sub: str | int) -> str:
    if isinstance(sub, int):
        return f"{key}[{sub}]"
    return f"{key}.{sub}" if key else sub


@dataclass(frozen=True)
class Int:
    """An integer (not a boolean) in ``[lo, hi]``, a multiple of ``multiple`` if given."""

    lo: int | None = None
    hi: int | None = None
    multiple: int | None = None
    unit: str = ""      # how the multiple is named: "4 KiB"
    hex: bool = False   # show numbers in hex (addresses, sizes)

    def check(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(key, f"must be an integer, not {show(value)}")
        if self.lo is not None and value < self.lo or self.hi is not None and value > self.hi:
            lo = "" if self.lo is None else show(self.lo, self.hex)
            hi = "" if self.hi is None else show(self.hi, self.hex)
            raise Invalid(key, f"{show(value, self.hex)} is out of range ({lo}..{hi})")
        if self.multiple and value % self.multiple:
            raise Invalid(key, f"{show(value, self.hex)} is not a multiple of {self.unit or show(self.multiple, self.hex)}")
        return value


@dataclass(frozen=True)
class Bool:
    """true or false."""

    def check(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise Invalid(key, f"must be true or false, not {show(value)}")
        return value


@dataclass(frozen=True)
class Str:
    """A string: one of ``choices``, or matching ``pattern`` (whole string), at most ``max_len``."""

    choices: tuple[str, ...] = ()
    pattern: str | None = None
    what: str = ""       # says what the pattern allows, for the message
    max_len: int = 1000

    def check(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise Invalid(key, f"must be a string, not {show(value)}")
        if self.choices and value not in self.choices:
            raise Invalid(key, f"{show(value)} is not one of {', '.join(self.choices)}")
        if len(value) > self.max_len or self.pattern and not re.fullmatch(self.pattern, value):
            raise Invalid(key, f"{show(value)} is not {self.what or 'allowed'}")
        return value


@dataclass(frozen=True)
class Table:
    """A table with known keys; ``required`` must be present, any other key is refused."""

    fields: Mapping[str, Checker]
    required: frozenset[str] = field(default_factory=frozenset)

    def check(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            raise Invalid(key, f"must be a table, not {show(value)}")
        for k in value:
            if k not in self.fields:
                raise Invalid(join(key, k), f"unknown key (expected: {', '.join(self.fields)})")
        for k in self.fields:
            if k in self.required and k not in value:
                raise Invalid(join(key, k), "missing")
        return {k: self.fields[k].check(v, join(key, k)) for k, v in value.items()}


@dataclass(frozen=True)
class TableOf:
    """A table of named entries, each checked by ``item``; names match ``name_pattern``."""

    item: Checker
    name_pattern: str = r"[A-Za-z][A-Za-z0-9_]{0,31}"
    max_items: int = 16

    def check(self, value: Any, key: str) -> dict:
        if not isinstance(value, dict):
            raise Invalid(key, f"must be a table, not {show(value)}")
        if len(value) > self.max_items:
            raise Invalid(key, f"{len(value)} entries; at most {self.max_items}")
        for name in value:
            if not re.fullmatch(self.name_pattern, name):
                raise Invalid(key, f"entry name {show(name)} is not a letter followed by up to 31 "
                                   "letters, digits or underscores")
        return {name: self.item.check(v, join(key, name)) for name, v in value.items()}


@dataclass(frozen=True)
class ArrayOf:
    """An array of ``min_items`` to ``max_items`` values, each checked by ``item``."""

    item: Checker
    max_items: int
    min_items: int = 0

    def check(self, value: Any, key: str) -> list:
        if not isinstance(value, list):
            raise Invalid(key, f"must be an array, not {show(value)}")
        if not self.min_items <= len(value) <= self.max_items:
            raise Invalid(key, f"{len(value)} entries; expected {self.min_items} to {self.max_items}")
        return [self.item.check(v, join(key, i)) for i, v in enumerate(value)]


def read_toml(path: Path | str, text: str | None = None) -> dict:
    """The TOML document in ``path`` (or ``text``, named by ``path``), or one EmuError line."""
    if text is None:
        try:
            with Path(path).open("rb") as f:
                raw = f.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise EmuError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if len(raw) > MAX_FILE_BYTES:
            raise EmuError(f"{path}: larger than {MAX_FILE_BYTES >> 10} KiB; not a board or manifest")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EmuError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EmuError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise EmuError(f"{path}: not valid TOML: arrays or tables nested too deeply") from None


def validate(data: Any, schema: Checker, source: Path | str) -> Any:
    """``schema.check(data)`` with a failure as one line, ``SOURCE: KEY: message``."""
    try:
        return schema.check(data, "")
    except Invalid as exc:
        raise EmuError(f"{source}: {exc}") from None
