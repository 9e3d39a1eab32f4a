"""Firmware constants evaluated in Python agree with what the assembler computes."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from emu.build.asm import assemble
from emu.loader.constants import evaluate, firmware_constants, load_constants, parse_equ
from emu.errors import EmuError

REPO = Path(__file__).resolve().parents[2]
INCLUDE = REPO / "firmware" / "include"

EXPRESSIONS = [
    "1 + 2 << 3", "8 - 1 & 4", "1 | 2 & 0", "1 << 2 * 3", "2 + 3 * 4", "1 << 4 >> 2",
    "10 - 2 - 3", "-(3)", "~1 + 1", "(1 << 31) | 0x30", "0b101 ^ 0x3", "~0 & 0xff", "17 / 4 % 3",
]


def test_precedence_matches_keystone(tmp_path):
    path = tmp_path / "exprs.s"
    path.write_text("".join(f".quad {e}\n" for e in EXPRESSIONS))
    data = assemble(path, 0x40000000).segments[0].data
    assembled = struct.unpack(f"<{len(EXPRESSIONS)}q", data)
    assert [evaluate(e, {}) for e in EXPRESSIONS] == list(assembled)


SHARED = ["board.inc", "smccc.inc", "manifest.inc"]  # the constants Python relies on


def test_shared_firmware_constants_equal_the_assembled_values(tmp_path):
    values = load_constants([INCLUDE / n for n in SHARED])
    assert values["MANIFEST_PA"] == firmware_constants(INCLUDE)["MANIFEST_PA"] == 0x40400000
    names = sorted(values)
    path = tmp_path / "all.s"
    incs = SHARED
    path.write_text("".join(f'.include "{n}"\n' for n in incs) + "".join(f".quad {n}\n" for n in names))
    data = assemble(path, 0x40000000, [INCLUDE]).segments[0].data
    # Assembled constants are 64-bit; compare modulo 2**64 so negative values (-1) match.
    assembled = struct.unpack(f"<{len(names)}Q", data[-8 * len(names):])
    assert {n: v % (1 << 64) for n, v in values.items()} == dict(zip(names, assembled))


def test_parse_equ_handles_comments_and_earlier_names():
    text = """
    // a comment .equ NOT_THIS, 1
    .equ A, 0x10      // trailing
    /* block
    .equ HIDDEN, 3 */
    .equ B, (A << 2) | 1
    .set C, B - A
    """
    assert parse_equ(text) == {"A": 0x10, "B": 0x41, "C": 0x31}


def test_definitions_may_use_names_from_later_files(tmp_path):
    (tmp_path / "a.inc").write_text(".equ DERIVED, BASE + 4\n")
    (tmp_path / "b.inc").write_text(".equ BASE, 0x100\n.equ FROM_LABEL, some_label + 1\n")
    c = load_constants([tmp_path / "a.inc", tmp_path / "b.inc"])
    assert c["DERIVED"] == 0x104 and "FROM_LABEL" not in c
    with pytest.raises(EmuError, match="FROM_LABEL: .*some_label is not defined"):
        c.require("FROM_LABEL")


@pytest.mark.parametrize("expr", ["1 +", "(1", "1 2", "1 $ 2", "4 / 0"])
def test_bad_expressions_are_errors(expr):
    with pytest.raises(EmuError):
        evaluate(expr, {}, "x.inc:1")


def test_cache_sees_edited_files(tmp_path):
    inc = tmp_path / "k.inc"
    inc.write_text(".equ K, 1\n")
    assert firmware_constants(tmp_path)["K"] == 1
    inc.write_text(".equ K, 22\n")
    assert firmware_constants(tmp_path)["K"] == 22
