"""The Keystone front end: bytes, symbols, includes, rejected syntax and file:line errors."""

from __future__ import annotations

import struct
from pathlib import Path

import capstone
import pytest

from emu.build.asm import FUNC, NOTYPE, OBJECT, assemble
from emu.errors import AsmError

BASE = 0x40000000
REPO = Path(__file__).resolve().parents[2]


def src(tmp_path: Path, text: str, name: str = "prog.s") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def disasm(data: bytes, addr: int) -> list[tuple[int, str, str]]:
    md = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    return [(i.address, i.mnemonic, i.op_str) for i in md.disasm(data, addr)]


def test_small_program_encodes_as_capstone_reads_it(tmp_path):
    img = assemble(src(tmp_path, """
_start:
    mov     x0, #0x2a
    add     x1, x0, #1
    msr     vbar_el2, x0
    hvc     #0
    b       _start
"""), BASE)
    [seg] = img.segments
    assert seg.addr == BASE and seg.memsz == len(seg.data) == 20
    assert struct.unpack_from("<I", seg.data, 12)[0] == 0xD4000002  # HVC #0 (Arm ARM C6.2.98)
    assert disasm(seg.data, BASE) == [
        (BASE, "mov", "x0, #0x2a"),
        (BASE + 4, "add", "x1, x0, #1"),
        (BASE + 8, "msr", "vbar_el2, x0"),
        (BASE + 12, "hvc", "#0"),
        (BASE + 16, "b", f"#{BASE:#x}"),
    ]


def test_symbols_are_labels_at_absolute_addresses(tmp_path):
    img = assemble(src(tmp_path, """
.equ    COUNT, 3
.set    OTHER, 4
LIMIT = 5
_start: nop
sub.dotted_name:
    nop
__under_score: .quad 0
.Llocal: nop
two: three: nop
.macro m
inner_label\\@: nop
.endm
    m
"""), 0x40200000)
    assert img.symbols == {
        "_start": 0x40200000,
        "sub.dotted_name": 0x40200004,
        "__under_score": 0x40200008,
        "two": 0x40200014,
        "three": 0x40200014,
    }
    assert img.entry == 0x40200000


def test_entry_defaults_to_base_without_start(tmp_path):
    img = assemble(src(tmp_path, "nop\nmain: b main\n"), BASE)
    assert img.entry == BASE and img.symbols == {"main": BASE + 4}


def test_symbol_types_follow_what_the_label_marks(tmp_path):
    img = assemble(src(tmp_path, """
code: nop
table: .quad 1
.type declared, %function
declared: .word 0
aligned:
    .balign 16
end:
"""), BASE)
    assert img.symbol_types == {"code": FUNC, "table": OBJECT, "declared": FUNC,
                                "aligned": NOTYPE, "end": NOTYPE}


def test_global_label_keeps_its_absolute_address(tmp_path):
    # Regression: Keystone emits 0 for .quad/ldr= of a .global label; the front end drops .global.
    img = assemble(src(tmp_path, ".global target\nnop\ntarget: nop\n.quad target\n"), BASE)
    assert img.segments[0].data[8:16] == struct.pack("<Q", BASE + 4)


def test_balign_after_forward_references_is_honoured(tmp_path):
    # Regression: with a symbol resolver installed Keystone ignored this .balign.
    img = assemble(src(tmp_path, """
_start: adr x2, msg
    b   done
done: nop
.balign 8
block: .quad 1, 2, 3
msg: .asciz "0123456789abcde"
.balign 16
after: .quad after
"""), 0x40200000)
    assert img.symbols["msg"] == 0x40200028
    assert img.symbols["after"] == 0x40200040


def test_literal_pool_is_placed_before_the_symbol_readback(tmp_path):
    img = assemble(src(tmp_path, "_start: ldr x0, =0x1122334455667788\n.byte 1\n.balign 4\nlast: nop\n"), BASE)
    data = img.segments[0].data
    # ldr (literal) at 0, .byte, padding, nop, padding to 8, then the 8-byte pool entry
    assert data.endswith(struct.pack("<Q", 0x1122334455667788))
    assert len(data) == 24 and img.symbols["last"] == BASE + 8
    insn = struct.unpack_from("<I", data, 0)[0]
    assert insn >> 24 == 0x58 and BASE + ((insn >> 5) & 0x7FFFF) * 4 == BASE + 16  # LDR Xt, literal


def test_comments_and_strings(tmp_path):
    img = assemble(src(tmp_path, """
// .section .data    <- only a comment
/* .include "nothing.inc"
   1: neither */
msg: .asciz "a // b ; c"   // trailing comment
"""), BASE)
    assert img.segments[0].data == b"a // b ; c\0"


def test_include_is_textual_and_searches_include_dirs(tmp_path):
    (tmp_path / "inc").mkdir()
    src(tmp_path, ".equ VALUE, 0x1234\nhelper: ret\n", "inc/defs.inc")
    src(tmp_path, ".include \"defs.inc\"\n_start: mov x0, #VALUE\n    bl helper\n")
    img = assemble(tmp_path / "prog.s", BASE, [tmp_path / "inc"])
    assert img.symbols == {"helper": BASE, "_start": BASE + 4}
    assert [m for _, m, _ in disasm(img.segments[0].data, BASE)] == ["ret", "mov", "bl"]
    assert [p.name for p in img.sources] == ["prog.s", "defs.inc"]


def test_include_prefers_the_including_files_directory(tmp_path):
    (tmp_path / "other").mkdir()
    src(tmp_path, "near: nop\n", "defs.inc")
    src(tmp_path, "far: nop\n", "other/defs.inc")
    img = assemble(src(tmp_path, '.include "defs.inc"\n'), BASE, [tmp_path / "other"])
    assert set(img.symbols) == {"near"}


def test_firmware_includes_assemble(tmp_path):
    img = assemble(src(tmp_path, '.include "board.inc"\n.include "manifest.inc"\n.quad MANIFEST_PA\n'),
                   BASE, [REPO / "firmware" / "include"])
    assert img.segments[0].data == struct.pack("<Q", 0x40400000)


def error_of(path: Path, *include_dirs: Path) -> str:
    with pytest.raises(AsmError) as info:
        assemble(path, BASE, list(include_dirs))
    return str(info.value)


def test_missing_include_is_reported_at_the_include_line(tmp_path):
    msg = error_of(src(tmp_path, 'nop\n.include "nothere.inc"\n'))
    assert msg.startswith(f"{tmp_path / 'prog.s'}:2: include file 'nothere.inc' not found")


def test_include_cycle_is_an_error(tmp_path):
    src(tmp_path, '.include "b.inc"\n', "a.inc")
    src(tmp_path, 'nop\n.include "a.inc"\n', "b.inc")
    msg = error_of(src(tmp_path, '.include "a.inc"\n'))
    assert "b.inc:2: include cycle: prog.s -> a.inc -> b.inc -> a.inc" in msg


def test_unknown_mnemonic_names_file_and_line(tmp_path):
    msg = error_of(src(tmp_path, "nop\nnop\n    frobnicate x1\nnop\n"))
    assert msg == f"{tmp_path / 'prog.s'}:3: invalid mnemonic: 'frobnicate x1'"


def test_bad_operand_names_file_and_line(tmp_path):
    msg = error_of(src(tmp_path, "_start: b later\nnop\nmov x1, #1, lsl 99\nlater: nop\n"))
    assert msg == f"{tmp_path / 'prog.s'}:3: invalid operand: 'mov x1, #1, lsl 99'"


def test_undefined_symbol_names_the_symbol_and_line(tmp_path):
    msg = error_of(src(tmp_path, "nop\nnop\n\n    b nowhere\nnop\n"))
    assert msg == f"{tmp_path / 'prog.s'}:4: undefined symbol 'nowhere': 'b nowhere'"


def test_error_inside_included_file_points_into_it(tmp_path):
    src(tmp_path, "// helpers\nok: nop\n\n   add x0, x1\n", "bad.inc")
    msg = error_of(src(tmp_path, "nop\n.include \"bad.inc\"\nnop\n"))
    assert msg.startswith(f"{tmp_path / 'bad.inc'}:4: ")
    assert msg.endswith("'add x0, x1'")


def test_error_in_macro_expansion_points_at_the_invocation(tmp_path):
    msg = error_of(src(tmp_path, ".macro twice reg\n  add \\reg, \\reg\n.endm\nnop\n  twice x3\n"))
    assert msg.startswith(f"{tmp_path / 'prog.s'}:5: ")


def test_redefined_label(tmp_path):
    msg = error_of(src(tmp_path, "x: nop\nnop\nx: nop\n"))
    assert msg.startswith(f"{tmp_path / 'prog.s'}:3: ") and "redefined" in msg


def test_out_of_range_branch_is_an_error_not_an_exit(tmp_path, capfd):
    # Keystone calls exit() on this fixup; the front end must survive and point at the tbz.
    msg = error_of(src(tmp_path, "nop\ntbz x0, #1, far\nnop\n.space 0x8000\nfar: nop\n"))
    assert msg == f"{tmp_path / 'prog.s'}:2: fixup value out of range: 'tbz x0, #1, far'"
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_text_keystone_silently_drops_is_an_error(tmp_path):
    msg = error_of(src(tmp_path, "nop\nldr x0, [x1, #8]! junk\nnop\n"))
    assert msg.startswith(f"{tmp_path / 'prog.s'}:2: statement not understood")


@pytest.mark.parametrize("directive", [".section .data", ".pushsection .bss", ".popsection",
                                       ".previous", ".data", ".bss", '.section .text.boot, "ax"'])
def test_section_directives_are_rejected_with_file_line(tmp_path, directive):
    msg = error_of(src(tmp_path, f"nop\n  {directive}\nnop\n"))
    assert msg.startswith(f"{tmp_path / 'prog.s'}:2: '{directive.split()[0]}' is not supported")


def test_text_directive_is_accepted(tmp_path):
    img = assemble(src(tmp_path, ".text\n_start: nop\n"), BASE)  # Keystone itself crashes on .text
    assert img.segments[0].data == bytes.fromhex("1f2003d5")


@pytest.mark.parametrize("text,line,what", [
    ("nop\n1:\n  b 1b\n", 2, "numeric local label '1:'"),
    ("nop\nloop: 2: nop\n", 2, "numeric local label '2:'"),
    ("nop\n  cbz x0, 3f\n", 2, "numeric local label reference '3f'"),
    ("nop\n  b 12b\n", 2, "numeric local label reference '12b'"),
])
def test_numeric_local_labels_are_rejected(tmp_path, text, line, what):
    msg = error_of(src(tmp_path, text))
    assert msg.startswith(f"{tmp_path / 'prog.s'}:{line}: {what} is not supported")


def test_hex_and_binary_numbers_are_not_numeric_labels(tmp_path):
    img = assemble(src(tmp_path, ".byte 0x1f, 0x0b, 0b1\n"), BASE)
    assert img.segments[0].data == b"\x1f\x0b\x01"


def test_label_only_in_a_false_if_block_is_not_a_symbol(tmp_path):
    img = assemble(src(tmp_path, ".if 0\nghost: nop\n.endif\nreal: nop\n"), BASE)
    assert img.symbols == {"real": BASE}
    msg = error_of(src(tmp_path, ".if 0\nghost: nop\n.endif\n.quad ghost\n", "uses.s"))
    assert msg == f"{tmp_path / 'uses.s'}:4: undefined symbol 'ghost': '.quad ghost'"


def test_unclosed_block_is_an_error(tmp_path):
    msg = error_of(src(tmp_path, "nop\n.rept 2\nnop\n"))
    assert msg.startswith(f"{tmp_path / 'prog.s'}:2: no '.endr' closes this block")


def test_bss_tail_is_not_stored(tmp_path):
    img = assemble(src(tmp_path, "_start: nop\n.ltorg\n.balign 16\n__bss_start:\nstack: .space 0x1000\nstack_top:\n"), BASE)
    [seg] = img.segments
    assert seg.data == bytes.fromhex("1f2003d5") + bytes.fromhex("1f2003d5") * 3
    assert seg.memsz == 0x1010 and img.symbols["stack_top"] == BASE + 0x1010


def test_bss_tail_must_be_zero(tmp_path):
    msg = error_of(src(tmp_path, "nop\n__bss_start:\n.quad 5\n"))
    assert msg.startswith(f"{tmp_path / 'prog.s'}:2: bytes after __bss_start must all be zero")


def test_code_label_at_unaligned_address_is_an_error(tmp_path):
    msg = error_of(src(tmp_path, ".byte 1\nentry: nop\n"))
    assert msg.startswith(f"{tmp_path / 'prog.s'}:2: code at 'entry' starts at unaligned address")


def test_same_sources_give_identical_bytes(tmp_path):
    path = src(tmp_path, "_start: ldr x0, =0x123456789\nadr x1, msg\nmsg: .asciz \"hi\"\n")
    a, b = assemble(path, BASE), assemble(path, BASE)
    assert a.segments == b.segments and a.symbols == b.symbols and a.entry == b.entry


def test_missing_source_file(tmp_path):
    msg = error_of(tmp_path / "absent.s")
    assert msg == f"{tmp_path / 'absent.s'}: cannot read: No such file or directory"
