"""Firmware constants as Python sees them: the ``.equ`` lines of ``firmware/include/*.inc``.

The hypervisor, the tenants and the Python side (manifest packer, loader checks) must agree
on addresses and layouts such as MANIFEST_PA or MT_ENTRY. They are written once, as
``.equ NAME, expr`` in the include files, and this module evaluates them for Python, so no
number is retyped.

Expressions use numbers (decimal, ``0x`` hex, ``0b`` binary), names defined earlier, unary
``- ~ +``, binary ``* / % + - << >> | & ^`` and parentheses. Operator precedence follows the
assembler that builds the firmware (Keystone, i.e. LLVM 3.x MC), not C:
``* / %`` bind tightest, then ``+ -``, then ``<< >>``, then ``| & ^`` (all one level), each
level left-associative. ``1 | 2 & 0`` is therefore 0, as Keystone computes it.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Mapping

from emu.errors import EmuError

#: The shared include directory of the firmware, relative to the repository root.
DEFAULT_INCLUDE_DIR = Path(__file__).resolve().parents[2] / "firmware" / "include"

_EQU_RE = re.compile(r"^\s*\.(?:equ|set)\s+([A-Za-z_.$][\w.$]*)\s*,\s*(.+?)\s*$")
_TOKEN_RE = re.compile(r"\s*(?:(0[xX][0-9a-fA-F]+|0[bB][01]+|\d+)|([A-Za-z_.$][\w.$]*)|(<<|>>|[-+*/%|&^~()]))")

# Binary operator -> precedence level (higher binds tighter), as in LLVM 3.x MC.
_BINARY = {
    "*": 4, "/": 4, "%": 4,
    "+": 3, "-": 3,
    "<<": 2, ">>": 2,
    "|": 1, "&": 1, "^": 1,
}


def _strip_comment(line: str) -> str:
    """Drop ``//`` and one-line ``/* */`` comments (the .inc files use both styles)."""
    line = re.sub(r"/\*.*?\*/", " ", line)
    cut = line.find("//")
    return line if cut < 0 else line[:cut]


def _tokenize(expr: str, where: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    expr = expr.rstrip()
    while pos < len(expr):
        m = _TOKEN_RE.match(expr, pos)
        if not m or m.end() == pos:
            raise EmuError(f"{where}: cannot parse expression at {expr[pos:].strip()!r}")
        number, name, op = m.groups()
        if number is not None:
            tokens.append(("num", number))
        elif name is not None:
            tokens.append(("name", name))
        else:
            tokens.append(("op", op))
        pos = m.end()
    return tokens


def evaluate(expr: str, names: Mapping[str, int], where: str = "<expr>") -> int:
    """Evaluate an assembler constant expression over already-defined ``names``."""
    tokens = _tokenize(expr, where)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise EmuError(f"{where}: expression {expr.strip()!r} ends too early")
        pos += 1
        return tokens[pos - 1]

    def primary() -> int:
        kind, text = take()
        if kind == "num":
            return int(text, 0)
        if kind == "name":
            if text not in names:
                raise EmuError(f"{where}: {text} is not defined before use")
            return names[text]
        if text == "(":
            value = binary(0)
            if take() != ("op", ")"):
                raise EmuError(f"{where}: missing ')' in {expr.strip()!r}")
            return value
        if text == "-":
            return -primary()
        if text == "~":
            return ~primary()
        if text == "+":
            return primary()
        raise EmuError(f"{where}: unexpected {text!r} in {expr.strip()!r}")

    def binary(min_level: int) -> int:
        left = primary()
        while True:
            tok = peek()
            if tok is None or tok[0] != "op" or tok[1] not in _BINARY:
                return left
            level = _BINARY[tok[1]]
            if level < min_level:
                return left
            take()
            right = binary(level + 1)
            left = _apply(tok[1], left, right, where)

    value = binary(0)
    if pos != len(tokens):
        raise EmuError(f"{where}: trailing {tokens[pos][1]!r} in {expr.strip()!r}")
    return value


def _apply(op: str, a: int, b: int, where: str) -> int:
    if op in "/%" and b == 0:
        raise EmuError(f"{where}: division by zero")
    return {
        "*": lambda: a * b, "/": lambda: int(a / b), "%": lambda: a - b * int(a / b),
        "+": lambda: a + b, "-": lambda: a - b,
        "<<": lambda: a << b, ">>": lambda: a >> b,
        "|": lambda: a | b, "&": lambda: a & b, "^": lambda: a ^ b,
    }[op]()


def _equ_lines(text: str, source: str) -> list[tuple[str, str, str]]:
    """The ``(name, expression, "file:line")`` of every ``.equ``/``.set`` line, in order."""
    found: list[tuple[str, str, str]] = []
    in_block_comment = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw
        if in_block_comment:
            end = line.find("*/")
            if end < 0:
                continue
            line = line[end + 2:]
            in_block_comment = False
        line = _strip_comment(line)
        start = line.find("/*")
        if start >= 0:
            line, in_block_comment = line[:start], True
        m = _EQU_RE.match(line)
        if m:
            found.append((m.group(1), m.group(2), f"{source}:{lineno}"))
    return found


def parse_equ(text: str, source: str = "<text>", known: Mapping[str, int] | None = None) -> dict[str, int]:
    """Return the ``.equ``/``.set`` definitions of one file, in order, evaluated.

    ``known`` supplies names defined by files read earlier; they may be used in expressions
    but are not part of the result. Any expression that cannot be evaluated is an error.
    """
    names: dict[str, int] = dict(known or {})
    result: dict[str, int] = {}
    for name, expr, where in _equ_lines(text, source):
        names[name] = result[name] = evaluate(expr, names, where)
    return result


class Constants(dict):
    """Evaluated constants, plus why the ones that could not be evaluated were left out."""

    def __init__(self, values: dict[str, int], unresolved: dict[str, str]):
        super().__init__(values)
        self.unresolved = unresolved

    def require(self, name: str) -> int:
        """The value of ``name``, or an EmuError that says why it is missing."""
        if name in self:
            return self[name]
        reason = self.unresolved.get(name, "not defined in any firmware include file")
        raise EmuError(f"firmware constant {name}: {reason}")


def load_constants(paths: list[Path] | tuple[Path, ...]) -> Constants:
    """Evaluate the ``.equ`` lines of ``paths``.

    Include files may use each other's names in any order (the assembler sees them all after
    textual inclusion), so definitions whose names are not known yet are retried until no
    more can be resolved. Definitions that never resolve (for example ones built from code
    labels) are left out and recorded in ``unresolved``; a later definition of a name
    replaces an earlier one.
    """
    pending: list[tuple[str, str, str]] = []
    for path in paths:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise EmuError(f"{path}: cannot read: {exc.strerror}") from None
        pending += _equ_lines(text, str(path))
    names: dict[str, int] = {}
    unresolved: dict[str, str] = {}
    progress = True
    while pending and progress:
        progress = False
        retry = []
        for name, expr, where in pending:
            try:
                names[name] = evaluate(expr, names, where)
                unresolved.pop(name, None)
                progress = True
            except EmuError as exc:
                unresolved[name] = str(exc)
                retry.append((name, expr, where))
        pending = retry
    return Constants(names, unresolved)


@functools.lru_cache(maxsize=8)
def _cached(key: tuple[tuple[str, int, int], ...]) -> Constants:
    return load_constants(tuple(Path(p) for p, _, _ in key))


def firmware_constants(include_dir: Path | str | None = None) -> Constants:
    """All constants of ``include_dir/*.inc`` (files in name order), cached; do not modify.

    The cache key includes each file's size and modification time, so an edited .inc file is
    read again.
    """
    directory = Path(include_dir) if include_dir is not None else DEFAULT_INCLUDE_DIR
    files = sorted(directory.glob("*.inc"))
    if not files:
        raise EmuError(f"{directory}: no .inc files with firmware constants")
    key = tuple((str(f.resolve()), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return _cached(key)


def constant(name: str, include_dir: Path | str | None = None) -> int:
    """One firmware constant by name, e.g. ``constant("MANIFEST_PA")``."""
    return firmware_constants(include_dir).require(name)
