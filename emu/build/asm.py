"""Assembler front end: aarch64 GNU-syntax sources -> one flat :class:`Image`, via Keystone.

Keystone 0.9.2 assembles A64 well but is a poor driver on its own: it silently drops
``.section`` and ``.include``, has no numeric local labels, reports no line numbers, has no
symbol API, segfaults on ``.text`` and calls ``exit()`` on some fixup errors (an out-of-range
``tbz``). This module wraps it:

* **Preprocessing.** ``.include "file"`` is expanded textually (search: the including file's
  directory, then ``include_dirs``; cycles are errors). Every line sent to Keystone keeps a
  map back to its (file, line). Comments are removed here, so a directive inside a comment
  is never acted on.
* **One section.** An image is one contiguous segment at ``base``. ``.section``,
  ``.pushsection``, ``.popsection``, ``.previous``, ``.subsection``, ``.data``, ``.bss``,
  ``.comm`` and ``.lcomm`` are rejected with ``file:line``; ``.text`` is accepted as a
  no-op. ``.size``, ``.global`` and ``.globl`` are accepted and ignored (every label is in
  the symbol table anyway; Keystone would emit 0 for absolute references to a ``.global``
  label); ``.type NAME, %function|%object`` sets the ELF
  symbol type. ``.end`` ends the input as in GNU as. ``.incbin`` is rejected.
* **Rejected syntax.** Numeric local labels (``1:``, ``b 1f``): use named labels.
* **Isolation.** Keystone runs in a forked child with its stdout/stderr captured, so its
  chatter never leaks and a crash or ``exit()`` inside it becomes an :class:`AsmError`.
  A successful run whose captured output contains ``error:`` is an error too (that is how
  Keystone reports the directives it drops).
* **Errors** read ``file:line: message: 'statement'``. The line is found without Keystone's
  help: an undefined symbol by the name Keystone asks its resolver for; a parse error by
  bisecting over prefixes of the program cut at top-level statement boundaries; a fatal
  fixup error by bisecting over which PC-relative instructions are replaced by ``nop``
  (same size, so the layout does not move).
* **Symbols.** Every label defined at top level (not inside ``.macro``/``.rept`` bodies,
  not ``.L`` local labels, not ``.equ``/``.set`` names) becomes a symbol: a table of
  ``.quad label`` is appended after a ``.ltorg``, assembled with the program, read back and
  stripped, so the addresses are exactly Keystone's.
* **BSS.** If the label ``__bss_start`` is defined, everything from it to the end must be
  zero (``.space``/``.zero``); those bytes are not stored in the segment's data, only in
  its ``memsz``. Put ``.ltorg`` before ``__bss_start`` if the program uses ``ldr xN, =imm``.

The same sources always give byte-identical output.
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from emu.errors import AsmError
from emu.loader.image import Image, Segment

#: Keystone error numbers this module treats specially (keystone.KS_ERR_ASM_SYMBOL_MISSING).
KS_ERR_ASM_SYMBOL_MISSING = 144

#: Symbol types as written into the ELF symbol table.
FUNC, OBJECT, NOTYPE = "func", "object", "notype"

_END_MARKER = 0x4C4241544D595345  # "ESYMTABL": the last quad of every program we assemble
_BSS_LABEL = "__bss_start"

_SECTION_DIRECTIVES = {
    ".section", ".pushsection", ".popsection", ".previous", ".subsection",
    ".data", ".bss", ".rodata", ".comm", ".lcomm",
}
# .global/.globl are dropped because Keystone then leaves absolute references to the label
# (.quad label, ldr xN, =label) as unresolved relocations and emits 0 for them.
_IGNORED_DIRECTIVES = {".text", ".size", ".global", ".globl"}
_DATA_DIRECTIVES = {
    ".byte", ".hword", ".short", ".word", ".long", ".int", ".quad", ".xword", ".8byte",
    ".4byte", ".2byte", ".ascii", ".asciz", ".string", ".space", ".skip", ".zero", ".fill",
    ".inst",
}
# Directives that do not emit anything at a label, so the label's type is decided later.
_TRANSPARENT_DIRECTIVES = {".global", ".globl", ".type", ".size", ".text", ".cfi_startproc",
                           ".equ", ".set"}
_BLOCK_OPEN = {".macro": "macro", ".rept": "rept", ".irp": "rept", ".irpc": "rept"}
_BLOCK_CLOSE = {".endm": "macro", ".endmacro": "macro", ".endr": "rept"}
# Instructions whose operand is resolved by a fixup; replacing one with NOP keeps the layout.
_FIXUP_MNEMONICS = {"b", "bl", "cbz", "cbnz", "tbz", "tbnz", "adr", "adrp", "ldr", "ldrsw", "prfm"}

_LABEL_RE = re.compile(r"\s*([A-Za-z_.$][\w.$]*|\d+)\s*:(?!:)")
_NUMERIC_REF_RE = re.compile(r"(?<![\w.$])\d+[bf](?![\w.$])")
_RELOC_SPEC_RE = re.compile(r":[a-z_0-9]+:", re.IGNORECASE)
_INCLUDE_RE = re.compile(r'^\.include\s+"([^"]+)"\s*$')
_TYPE_RE = re.compile(r"^\.type\s+([A-Za-z_.$][\w.$]*)\s*,\s*[%@#]?(\w+)\s*$")
_EQU_RE = re.compile(r"^\.(?:equ|set|equiv)\s+([A-Za-z_.$][\w.$]*)\s*,")
_ASSIGN_RE = re.compile(r"^([A-Za-z_.$][\w.$]*)\s*=(?!=)")


@dataclass
class AsmImage(Image):
    """An assembled image plus what the ELF writer and the build pipeline need to know.

    ``symbol_types`` maps each symbol to ``"func"``, ``"object"`` or ``"notype"`` (from
    ``.type``, else from what follows the label: an instruction or a data directive);
    ``sources`` lists every file read, the top-level source first.
    """

    symbol_types: dict[str, str] = field(default_factory=dict)
    sources: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class _Statement:
    labels: str  # the "name:" prefix, kept verbatim
    body: str    # the rest, stripped


@dataclass(frozen=True)
class _Line:
    """One line sent to Keystone and where it came from."""

    path: str
    lineno: int
    statements: tuple[_Statement, ...]

    def render(self, neutralise: bool = False) -> str:
        parts = []
        for st in self.statements:
            body = "nop" if neutralise and _is_fixup(st.body) else st.body
            parts.append(f"{st.labels.strip()} {body}" if st.labels and body else st.labels.strip() or body)
        return " ; ".join(p for p in parts if p.strip())

    @property
    def where(self) -> str:
        return f"{self.path}:{self.lineno}"

    @property
    def source(self) -> str:
        return self.render().strip()


def _is_fixup(body: str) -> bool:
    if not body or body.startswith("."):
        return False
    mnemonic = body.split(None, 1)[0].lower()
    if "=" in body:
        return False  # ldr xN, =imm: a pseudo whose size depends on the literal pool
    return mnemonic in _FIXUP_MNEMONICS or mnemonic.startswith("b.") or bool(_RELOC_SPEC_RE.search(body))


# ---------------------------------------------------------------------------------------
# Lexical helpers: comments, strings, statement separators.

def _strip_comments(text: str) -> str:
    """Remove ``//`` and ``/* */`` comments outside string literals, keeping every newline."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif c == "'" and i + 2 < n and (text[i + 2] == "'" or text[i + 1] == "\\"):
            j = i + (4 if text[i + 1] == "\\" else 3)
            out.append(text[i:j])
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _split_statements(line: str) -> list[str]:
    """Split on ``;`` outside string literals."""
    parts, start, i, quoted = [], 0, 0, False
    while i < len(line):
        c = line[i]
        if c == "\\" and quoted:
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == ";" and not quoted:
            parts.append(line[start:i])
            start = i + 1
        i += 1
    parts.append(line[start:])
    return parts


def _without_strings(text: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)


# ---------------------------------------------------------------------------------------
# Preprocessor

class _Preprocessor:
    """Expands includes, checks what Keystone would get wrong, and records labels."""

    def __init__(self, include_dirs: list[Path]):
        self.include_dirs = include_dirs
        self.lines: list[_Line] = []
        self.cuts: list[int] = [0]          # prefix lengths that end at top level
        self.labels: dict[str, _Line | None] = {}  # label -> defining line, in order
        self.types: dict[str, str] = {}
        self.declared_types: dict[str, str] = {}
        self.equs: set[str] = set()
        self.files: list[Path] = []
        self.blocks: list[tuple[str, _Line]] = []
        self.ended = False
        self._pending: list[str] = []       # labels waiting for their first statement

    # -- files ------------------------------------------------------------------------
    def run(self, path: Path) -> None:
        self._expand(path, str(path), [])
        if self.blocks:
            kind, line = self.blocks[-1]
            closing = {"macro": ".endm", "rept": ".endr", "if": ".endif"}[kind]
            raise AsmError(f"{line.where}: no '{closing}' closes this block: {line.source!r}")
        for name in self._pending:
            self.types.setdefault(name, NOTYPE)

    def _read(self, path: Path, display: str, where: str | None) -> str:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            prefix = f"{where}: cannot read {display}" if where else f"{display}: cannot read"
            raise AsmError(f"{prefix}: {exc.strerror or exc}") from None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise AsmError(f"{display}: not UTF-8 text") from None

    def _expand(self, path: Path, display: str, stack: list[Path], where: str | None = None) -> None:
        text = _strip_comments(self._read(path, display, where))
        resolved = path.resolve()
        self.files.append(path)
        stack = stack + [resolved]
        for lineno, raw in enumerate(text.split("\n"), 1):
            if self.ended:
                return
            self._line(path, display, lineno, raw, stack)

    def _find_include(self, name: str, includer: Path, where: str) -> tuple[Path, str]:
        candidates = [includer.parent] + list(self.include_dirs)
        for directory in candidates:
            p = Path(directory) / name
            if p.is_file():
                return p, os.path.normpath(str(p))
        searched = ", ".join(str(d) for d in candidates)
        raise AsmError(f"{where}: include file '{name}' not found (searched {searched})")

    # -- one line ---------------------------------------------------------------------
    def _line(self, path: Path, display: str, lineno: int, raw: str, stack: list[Path]) -> None:
        where = f"{display}:{lineno}"
        statements: list[_Statement] = []
        for text in _split_statements(raw):
            st = self._statement(text, where, raw)
            if st is None:
                continue
            if isinstance(st, tuple):  # an include
                if statements or len([s for s in _split_statements(raw) if s.strip()]) > 1:
                    raise AsmError(f"{where}: '.include' must be on a line of its own")
                target, shown = self._find_include(st[1], path, where)
                if target.resolve() in stack:
                    chain = " -> ".join(p.name for p in stack + [target])
                    raise AsmError(f"{where}: include cycle: {chain}")
                self._emit(display, lineno, ())  # keep the .include line itself (empty)
                self._expand(target, shown, stack, where)
                return
            statements.append(st)
        self._emit(display, lineno, tuple(statements))

    def _emit(self, display: str, lineno: int, statements: tuple[_Statement, ...]) -> None:
        line = _Line(display, lineno, statements)
        self.lines.append(line)
        for st in statements:
            self._track(st, line)
        if not self.blocks:
            self.cuts.append(len(self.lines))

    def _statement(self, text: str, where: str, raw: str):
        """Check one statement; return it, None to drop it, or ("include", name)."""
        rest = text
        labels = ""
        names = []
        while True:
            m = _LABEL_RE.match(rest)
            if not m:
                break
            name = m.group(1)
            if name.isdigit():
                raise AsmError(f"{where}: numeric local label '{name}:' is not supported; use a named label: {raw.strip()!r}")
            names.append(name)
            labels += rest[:m.end()]
            rest = rest[m.end():]
        body = rest.strip()
        for name in names:
            self._define(name, where)
        if not body:
            return _Statement(labels, "") if labels else None
        words = body.split(None, 1)
        m = _NUMERIC_REF_RE.search(_without_strings(words[1])) if len(words) > 1 else None
        if m:
            raise AsmError(f"{where}: numeric local label reference '{m.group(0)}' is not supported; use a named label: {raw.strip()!r}")
        word = body.split(None, 1)[0].lower()
        if word.startswith("."):
            if word == ".include":
                m = _INCLUDE_RE.match(body)
                if not m:
                    raise AsmError(f"{where}: expected .include \"file\": {raw.strip()!r}")
                if names:
                    raise AsmError(f"{where}: '.include' must be on a line of its own")
                return ("include", m.group(1))
            if word in _SECTION_DIRECTIVES:
                raise AsmError(f"{where}: '{word}' is not supported: an image is one contiguous section; "
                               f"remove it and place data in the text: {raw.strip()!r}")
            if word == ".incbin":
                raise AsmError(f"{where}: '.incbin' is not supported: {raw.strip()!r}")
            if word == ".end":
                self.ended = True
                return _Statement(labels, "") if labels else None
            if word == ".type":
                m = _TYPE_RE.match(body)
                if m:
                    kind = m.group(2).lower()
                    self.declared_types[m.group(1)] = FUNC if kind == "function" else OBJECT if kind == "object" else NOTYPE
                return _Statement(labels, "") if labels else None
            if word in _IGNORED_DIRECTIVES:
                return _Statement(labels, "") if labels else None
        return _Statement(labels, body)

    def _define(self, name: str, where: str) -> None:
        if self.blocks and any(kind != "if" for kind, _ in self.blocks):
            return  # defined per expansion of a macro or repetition: not one address
        if name.startswith(".L"):
            return  # assembler-local, as in GNU as
        self._pending.append(name)
        self.labels.setdefault(name, None)  # line filled in by _track

    def _track(self, st: _Statement, line: _Line) -> None:
        """Follow block nesting, label definitions and what kind of thing each label marks."""
        for m in _LABEL_RE.finditer(st.labels):
            name = m.group(1)
            if name in self.labels and self.labels[name] is None:
                self.labels[name] = line
        body = st.body
        if not body:
            return
        word = body.split(None, 1)[0].lower()
        m = _EQU_RE.match(body) or _ASSIGN_RE.match(body)
        if m:
            self.equs.add(m.group(1))
        if word in _BLOCK_OPEN:
            self.blocks.append((_BLOCK_OPEN[word], line))
        elif word.startswith(".if"):
            self.blocks.append(("if", line))
        elif word in _BLOCK_CLOSE or word == ".endif":
            want = "if" if word == ".endif" else _BLOCK_CLOSE[word]
            if not self.blocks or self.blocks[-1][0] != want:
                raise AsmError(f"{line.where}: '{word}' without a matching opening directive")
            self.blocks.pop()
        in_body = any(kind != "if" for kind, _ in self.blocks) or word in _BLOCK_OPEN
        if self._pending and not in_body:
            if word.startswith("."):
                if word in _TRANSPARENT_DIRECTIVES:
                    return
                kind = OBJECT if word in _DATA_DIRECTIVES else NOTYPE
            else:
                kind = FUNC
            for name in self._pending:
                self.types.setdefault(name, kind)
            self._pending = []

    # -- queries ----------------------------------------------------------------------
    def text(self, upto: int | None = None, neutralise_from: int | None = None) -> str:
        lines = self.lines if upto is None else self.lines[:upto]
        if neutralise_from is None:
            return "\n".join(line.render() for line in lines)
        return "\n".join(line.render(i >= neutralise_from) for i, line in enumerate(lines))

    def symbol_names(self) -> list[str]:
        return [n for n in self.labels if n not in self.equs]

    def find_reference(self, name: str) -> _Line | None:
        pattern = re.compile(rf"(?<![\w.$]){re.escape(name)}(?![\w.$])")
        for line in self.lines:
            for st in line.statements:
                if pattern.search(_without_strings(st.body)):
                    return line
        return None


# ---------------------------------------------------------------------------------------
# Running Keystone in a child process

@dataclass
class _Outcome:
    """What one Keystone run produced: bytes, or an error kind and message."""

    data: bytes | None = None
    kind: object = None      # None: success; int: Keystone errno; "fatal"; "diagnostic"
    message: str = ""
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.kind is None


def _assemble_here(text: str, base: int, ask_missing: bool) -> _Outcome:
    from keystone import KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN, Ks, KsError

    missing: list[str] = []

    def resolver(name, _value):
        missing.append(name.decode("utf-8", "replace"))
        return False

    ks = Ks(KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN)
    if ask_missing:
        # Only to name an undefined symbol: with a resolver installed Keystone lays out
        # some programs differently (a .balign after forward references was ignored).
        ks.sym_resolver = resolver
    try:
        data, _ = ks.asm(text.encode("utf-8"), base, as_bytes=True)
    except KsError as exc:
        message = re.sub(r"\s*\(KS_ERR_\w+\)\s*$", "", str(exc))
        if message.lower().startswith("unknown error"):
            message = f"not accepted by the assembler (Keystone error {exc.errno})"
        return _Outcome(kind=exc.errno, message=message[:1].lower() + message[1:], missing=missing)
    return _Outcome(data=bytes(data or b""))


def _classify_output(outcome: _Outcome, captured: str) -> _Outcome:
    """Turn the ways Keystone fails without raising into errors; strip the end marker."""
    if not outcome.ok:
        return outcome
    m = re.search(r"error:\s*(.*)", captured)
    if m:
        return _Outcome(kind="diagnostic", message=m.group(1).strip())
    data = outcome.data or b""
    if len(data) < 8 or struct.unpack_from("<Q", data, len(data) - 8)[0] != _END_MARKER:
        # Keystone returns success and no bytes at all after, e.g., junk after the operands.
        return _Outcome(kind="dropped", message="statement not understood (the assembler dropped the program from here)")
    return _Outcome(data=data[:-8])


def _run_keystone(text: str, base: int, ask_missing: bool = False) -> _Outcome:
    """Assemble ``text`` at ``base`` in a forked child; never lets Keystone touch our fds.

    An end marker is appended (after a ``.ltorg``, so the literal pool precedes it) and
    stripped again: its absence shows that Keystone silently dropped part of the program.
    """
    text = f"{text}\n.ltorg\n.quad {_END_MARKER:#x}\n"
    with tempfile.TemporaryFile() as captured:
        if not hasattr(os, "fork"):  # pragma: no cover - non-POSIX hosts
            return _run_in_process(text, base, ask_missing, captured)
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: assemble, send the pickled outcome, leave without cleanup
            code = 1
            try:
                os.close(rfd)
                os.dup2(captured.fileno(), 1)
                os.dup2(captured.fileno(), 2)
                payload = pickle.dumps(_assemble_here(text, base, ask_missing))
                view = memoryview(payload)
                while view:
                    view = view[os.write(wfd, view):]
                code = 0
            except BaseException as exc:  # reported through the captured output
                os.write(2, f"\nerror in assembler process: {exc!r}\n".encode())
            finally:
                os._exit(code)
        os.close(wfd)
        chunks = []
        with os.fdopen(rfd, "rb") as reader:
            while chunk := reader.read(1 << 20):
                chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
        captured.seek(0)
        chatter = captured.read().decode("utf-8", "replace")
    payload = b"".join(chunks)
    if payload and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return _classify_output(pickle.loads(payload), chatter)
    m = re.search(r"LLVM ERROR:\s*(.*)", chatter)
    if m:
        message = m.group(1).strip()
    elif os.WIFSIGNALED(status):
        message = f"assembler crashed ({signal.Signals(os.WTERMSIG(status)).name})"
    else:
        message = (chatter.strip().splitlines() or ["assembler failed"])[-1]
    return _Outcome(kind="fatal", message=message)


def _run_in_process(text: str, base: int, ask_missing: bool, captured) -> _Outcome:  # pragma: no cover
    saved = os.dup(2)
    try:
        os.dup2(captured.fileno(), 2)
        outcome = _assemble_here(text, base, ask_missing)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    captured.seek(0)
    return _classify_output(outcome, captured.read().decode("utf-8", "replace"))


# ---------------------------------------------------------------------------------------
# Finding the line of an error

def _locate(pre: _Preprocessor, outcome: _Outcome, base: int, top: str) -> AsmError:
    if outcome.kind == KS_ERR_ASM_SYMBOL_MISSING and outcome.missing:
        name = outcome.missing[0]
        line = pre.find_reference(name)
        if line is not None:
            return AsmError(f"{line.where}: undefined symbol '{name}': {line.source!r}")
    line = None
    if outcome.kind == "fatal":
        line = _bisect_neutralised(pre, outcome, base)
    if line is None:
        line = _bisect_prefix(pre, outcome, base)
    if line is None:
        where = pre.lines[0].where if pre.lines else f"{top}:1"
        return AsmError(f"{where}: {outcome.message} (line not identified)")
    return AsmError(f"{line.where}: {outcome.message}: {line.source!r}")


def _same_failure(outcome: _Outcome, reference: _Outcome) -> bool:
    if outcome.ok or outcome.kind != reference.kind:
        return False
    if reference.kind == KS_ERR_ASM_SYMBOL_MISSING:
        return outcome.missing[:1] == reference.missing[:1]
    return reference.kind != "fatal" or outcome.message == reference.message


def _bisect_prefix(pre: _Preprocessor, outcome: _Outcome, base: int) -> _Line | None:
    """Smallest top-level prefix that fails the same way; its last statement group is the culprit.

    A prefix that stops before a forward reference's target only adds an undefined-symbol
    error, which Keystone reports after parse errors, so parse errors bisect cleanly.
    """
    cuts = pre.cuts
    ask = outcome.kind == KS_ERR_ASM_SYMBOL_MISSING
    if not _same_failure(_run_keystone(pre.text(cuts[-1]), base, ask), outcome):
        return None
    lo, hi = 0, len(cuts) - 1  # prefix cuts[lo] passes, cuts[hi] fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _same_failure(_run_keystone(pre.text(cuts[mid]), base, ask), outcome):
            hi = mid
        else:
            lo = mid
    group = pre.lines[cuts[lo]:cuts[hi]]
    for line in group:
        if line.statements:
            return line
    return group[0] if group else None


def _bisect_neutralised(pre: _Preprocessor, outcome: _Outcome, base: int) -> _Line | None:
    """Find the fixup that fails by turning fixup instructions from line k on into ``nop``."""
    candidates = [i for i, line in enumerate(pre.lines) if any(_is_fixup(s.body) for s in line.statements)]
    if not candidates:
        return None

    def fails(j: int) -> bool:
        start = candidates[j] if j < len(candidates) else len(pre.lines)
        return _same_failure(_run_keystone(pre.text(neutralise_from=start), base), outcome)

    if fails(0):
        return None
    lo, hi = 0, len(candidates)  # fails(lo) is False, fails(hi) is the original failure
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fails(mid):
            hi = mid
        else:
            lo = mid
    return pre.lines[candidates[lo]]


# ---------------------------------------------------------------------------------------
# The front end

def _symbol_tail(names: list[str]) -> str:
    # .ltorg first: Keystone would otherwise put the literal pool after our table.
    return "\n.ltorg\n" + "".join(f".quad {name}\n" for name in names)


def assemble(path: Path | str, base: int, include_dirs: list[Path] | tuple[Path, ...] = ()) -> AsmImage:
    """Assemble ``path`` into one segment at ``base``.

    The entry point is the label ``_start`` if defined, else ``base``. Raises
    :class:`AsmError` (``file:line: message``) for anything Keystone rejects or would
    silently get wrong.
    """
    path = Path(path)
    pre = _Preprocessor([Path(d) for d in include_dirs])
    pre.run(path)
    names = pre.symbol_names()
    body = pre.text()
    while True:
        outcome = _run_keystone(body + _symbol_tail(names), base)
        if outcome.ok:
            break
        if outcome.kind == KS_ERR_ASM_SYMBOL_MISSING:
            outcome.missing = _run_keystone(body + _symbol_tail(names), base, ask_missing=True).missing
        # A label only defined in a false .if block is unknown to Keystone: drop it from
        # the table and retry; if the program itself uses it, the retry reports that.
        if outcome.kind == KS_ERR_ASM_SYMBOL_MISSING and outcome.missing and outcome.missing[0] in names:
            names.remove(outcome.missing[0])
            continue
        raise _locate(pre, outcome, base, str(path))

    data = outcome.data or b""
    program = data[:len(data) - 8 * len(names)]
    values = struct.unpack_from(f"<{len(names)}Q", data, len(program))
    symbols = dict(zip(names, values))

    stored = program
    if _BSS_LABEL in symbols:
        offset = symbols[_BSS_LABEL] - base
        if not 0 <= offset <= len(program):
            raise AsmError(f"{path}: {_BSS_LABEL} lies outside the image")
        if any(program[offset:]):
            where = pre.labels[_BSS_LABEL].where if pre.labels.get(_BSS_LABEL) else str(path)
            raise AsmError(f"{where}: bytes after {_BSS_LABEL} must all be zero "
                           "(use .space/.zero there, and .ltorg before it for ldr =imm)")
        stored = program[:offset]

    types = {name: pre.declared_types.get(name, pre.types.get(name, NOTYPE)) for name in symbols}
    for name, kind in types.items():
        # Keystone does not align instructions; an A64 instruction at a PC that is not a
        # multiple of 4 takes a PC alignment fault (Arm ARM D1.3.5), so catch it here.
        if kind == FUNC and symbols[name] % 4:
            line = pre.labels.get(name)
            where = line.where if line else str(path)
            raise AsmError(f"{where}: code at '{name}' starts at unaligned address {symbols[name]:#x}; "
                           "add .balign 4 before it")
    return AsmImage(
        name=path.stem,
        entry=symbols.get("_start", base),
        segments=[Segment(addr=base, data=stored, memsz=len(program), flags="rwx")],
        symbols=symbols,
        symbol_types=types,
        sources=list(dict.fromkeys(pre.files)),
    )
