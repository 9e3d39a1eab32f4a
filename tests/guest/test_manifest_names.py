"""The hypervisor checks tenant names itself, not only the build.

A tenant's name is its console tag, ``[name] ``: ``emu build`` refuses any name that is not 1 to 31
of ``A-Z a-z 0-9 _ . -`` (``hyp]x`` would let a tenant forge the tag of another or a hypervisor
line), but a system image can be made by hand. So manifest_validate (firmware/include/
hyp_manifest.inc) refuses the whole manifest for such a name, as for any other invalid field:
"hyp: bad manifest" and EXIT_BAD_MANIFEST, before any tenant runs. These tests build systems
normally, then rewrite a name in the packed manifest blob at MANIFEST_PA (layout: manifest.inc).
"""

from __future__ import annotations

import dataclasses

import pytest
from conftest import boot

from emu.loader.constants import firmware_constants
from emu.loader.elf import load_elf

C = firmware_constants()
BAD_MANIFEST = "hyp: bad manifest\n"
MAX_INSNS = 20_000_000

# Bytes outside the set, among them the neighbours of each range it allows.
BAD_BYTES = [b"]", b"[", b",", b"/", b":", b"@", b"^", b"`", b"{", b"~", b" ", b"\n", b"\r", b"\x1b", b"\x7f",
             b"\x80", b"\xc1", b"\xe1", b"\xff"]


def with_name(path, tenant: int, name: bytes):
    """The system image at ``path`` with tenant ``tenant``'s MT_NAME field set to ``name``,
    NUL-padded to MT_NAME_SIZE bytes (a name that fills the field has no NUL)."""
    size = C["MT_NAME_SIZE"]
    assert len(name) <= size
    image = load_elf(str(path))
    field = C["MF_TENANTS"] + tenant * C["MF_TENANT_SIZE"] + C["MT_NAME"]
    blob = next(i for i, s in enumerate(image.segments) if s.addr == C["MANIFEST_PA"])
    data = bytearray(image.segments[blob].data)
    data[field:field + size] = name.ljust(size, b"\0")
    image.segments[blob] = dataclasses.replace(image.segments[blob], data=bytes(data))
    return image


def refused(image) -> bool:
    m, result, _ = boot(image, max_insns=MAX_INSNS)
    if m.console.text == BAD_MANIFEST:
        assert result.exit_code == C["EXIT_BAD_MANIFEST"] and result.diagnostic is None
        return True
    return False


def test_the_shipped_names_are_accepted(built):
    m, result, _ = boot(load_elf(str(built["solo"])), max_insns=MAX_INSNS)
    assert result.exit_code == 0 and "[hello] Hello from EL1" in m.console.text.splitlines()


@pytest.mark.parametrize("byte", BAD_BYTES, ids=lambda b: f"{b[0]:#04x}")
def test_a_name_byte_outside_the_set_is_refused(built, byte):
    assert refused(with_name(built["solo"], 0, b"hel" + byte + b"o"))


def test_a_bracket_in_a_later_tenants_name_is_refused(built):
    """Every tenant is checked, not only the first: "attacker]x" would print "[attacker]x] ..."."""
    assert refused(with_name(built["demo"], 2, b"attacker]x"))


@pytest.mark.parametrize("name", [b"]", b"hyp]", b"x" * 30 + b"]"], ids=["first", "last", "31st"])
def test_a_bracket_anywhere_in_the_name_is_refused(built, name):
    assert refused(with_name(built["solo"], 0, name))


def test_a_name_that_fills_its_field_without_a_nul_is_refused(built):
    assert C["MT_NAME_SIZE"] == 32
    assert refused(with_name(built["solo"], 0, b"x" * C["MT_NAME_SIZE"]))


def test_a_manifest_of_the_old_version_is_refused(built):
    """Version 1 had 16-byte names: its records are laid out differently, so it is not read."""
    image = load_elf(str(built["solo"]))
    blob = next(i for i, s in enumerate(image.segments) if s.addr == C["MANIFEST_PA"])
    data = bytearray(image.segments[blob].data)
    data[C["MF_VERSION"]:C["MF_VERSION"] + 4] = (1).to_bytes(4, "little")
    image.segments[blob] = dataclasses.replace(image.segments[blob], data=bytes(data))
    assert refused(image)


def test_an_empty_name_is_refused(built):
    assert refused(with_name(built["solo"], 0, b""))


@pytest.mark.parametrize("name", [b"AZaz09_.-", b"x" * 31, b"a"], ids=["edges", "31", "1"])
def test_names_of_the_set_are_accepted(built, name):
    """Both ends of every range, the longest name (31 bytes and its NUL) and the shortest."""
    m, result, _ = boot(with_name(built["solo"], 0, name), max_insns=MAX_INSNS)
    assert result.exit_code == 0
    assert f"[{name.decode()}] Hello from EL1" in m.console.text.splitlines()
