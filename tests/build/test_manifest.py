"""Manifests: checks on the data, the blob the hypervisor reads, and packed system images."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from emu.build.asm import assemble
from emu.loader.constants import firmware_constants
from emu.build.elf import write_elf
from emu.build.manifest import (SystemImage, load_manifest, manifest_blob, pack_manifest, pack_system,
                                quantum_ticks, spi_bitmap)
from emu.loader.placements import TenantPlacement, ToeShare, read_placements
from emu.errors import EmuError
from emu.loader.elf import load_elf
from emu.loader.image import Image, Segment

REPO = Path(__file__).resolve().parents[2]
INCLUDE = REPO / "firmware" / "include"
C = firmware_constants(INCLUDE)
MiB2 = 2 << 20
IPA = C["TENANT_IPA_BASE"]
NOP = bytes.fromhex("1f2003d5")


def tenant_image(name: str, size: int = 8, extra: int = 0) -> Image:
    return Image(name, IPA, [Segment(IPA, NOP * (size // 4), size + extra, "rwx")],
                 {"_start": IPA, "loop": IPA + 4})


def hyp_image() -> Image:
    base = C["HYP_BASE"]
    return Image("hyp", base, [Segment(base, NOP * 4, 0x10000, "rwx")], {"_start": base, "vectors": base + 0x800})


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.toml"
    path.write_text(text)
    return path


# --- the blob -----------------------------------------------------------------------------

def test_blob_layout_matches_manifest_inc(tmp_path):
    # Offsets as the assembler computes them from manifest.inc, independently of constants.py.
    names = ["MANIFEST_MAGIC", "MANIFEST_VERSION", "MF_MAGIC", "MF_VERSION", "MF_TENANT_COUNT", "MF_TENANTS",
             "MF_TENANT_SIZE", "MT_IPA_BASE", "MT_PA_BASE", "MT_SIZE", "MT_ENTRY", "MT_ID", "MT_FLAGS", "MT_NAME",
             "MT_NAME_SIZE", "MT_SPIS", "MT_VCPUS", "MT_CORES", "MAX_VCPUS", "MT_TOE_SESSIONS", "MT_TOE_LISTEN",
             "MT_TOE_CONNECT_ADDR", "MT_TOE_CONNECT_PORT"]
    src = tmp_path / "offsets.s"
    src.write_text('.include "manifest.inc"\n' + "".join(f".quad {n}\n" for n in names))
    off = dict(zip(names, struct.unpack(f"<{len(names)}Q", assemble(src, 0, [INCLUDE]).segments[0].data)))

    placements = [TenantPlacement("hello", 0, IPA, 0x41000000, MiB2, IPA + 0x40),
                  TenantPlacement("counter_with_a_31_char_name_xyz", 1, IPA, 0x42000000, 2 * MiB2, IPA,
                                  cores=(3, 1), toe=ToeShare(2, (7000, 7001), 0x7F000001, 9000))]
    blob = manifest_blob(placements, C)
    assert len(blob) == off["MF_TENANTS"] + 2 * off["MF_TENANT_SIZE"]
    assert blob[off["MF_MAGIC"]:off["MF_MAGIC"] + 8] == b"MANIFST0"
    assert struct.unpack_from("<Q", blob, off["MF_MAGIC"])[0] == off["MANIFEST_MAGIC"]
    assert struct.unpack_from("<I", blob, off["MF_VERSION"])[0] == off["MANIFEST_VERSION"] == 5  # the pool and the manager
    assert struct.unpack_from("<I", blob, off["MF_TENANT_COUNT"])[0] == 2
    for t in placements:
        rec = off["MF_TENANTS"] + t.index * off["MF_TENANT_SIZE"]
        for field, value in (("MT_IPA_BASE", t.ipa), ("MT_PA_BASE", t.pa), ("MT_SIZE", t.size),
                             ("MT_ENTRY", t.entry)):
            assert struct.unpack_from("<Q", blob, rec + off[field])[0] == value
        assert struct.unpack_from("<I", blob, rec + off["MT_ID"])[0] == t.index
        assert struct.unpack_from("<I", blob, rec + off["MT_FLAGS"])[0] == 0
        assert off["MT_NAME_SIZE"] == 32
        name = blob[rec + off["MT_NAME"]:rec + off["MT_NAME"] + 32]
        assert name == t.name.encode().ljust(32, b"\0")
        assert off["MT_NAME"] + 32 <= off["MT_SPIS"] and off["MT_SPIS"] + 8 <= off["MF_TENANT_SIZE"]
        assert struct.unpack_from("<I", blob, rec + off["MT_VCPUS"])[0] == len(t.cores)
        cores = blob[rec + off["MT_CORES"]:rec + off["MT_CORES"] + off["MAX_VCPUS"]]
        assert cores == bytes(t.cores).ljust(off["MAX_VCPUS"], b"\0")
        assert off["MT_CORES"] + off["MAX_VCPUS"] <= off["MT_TOE_SESSIONS"]
        toe = struct.unpack_from("<4I", blob, rec + off["MT_TOE_SESSIONS"])
        assert toe == ((2, 7000 | 7001 << 16, 0x7F000001, 9000) if t.toe else (0, 0, 0, 0))
        assert off["MT_TOE_CONNECT_PORT"] + 4 <= off["MF_TENANT_SIZE"]
    assert placements[0].cores == (0,)  # a tenant names no cores: one vCPU on core 0, as in v1


# --- packing --------------------------------------------------------------------------------

def test_pack_system_places_everything():
    system = pack_system(hyp_image(), [("hello", tenant_image("hello"), MiB2, None),
                                       ("counter", tenant_image("counter", 12), MiB2, 0x48000000)], C, "demo")
    assert isinstance(system, SystemImage) and system.entry == C["HYP_BASE"] and system.name == "demo"
    by_addr = {s.addr: s for s in system.segments}
    assert by_addr[C["HYP_BASE"]].memsz == 0x10000
    assert by_addr[C["TENANT_PA_BASE"]].data == NOP * 2
    assert by_addr[0x48000000].data == NOP * 3
    assert by_addr[C["MANIFEST_PA"]].data == manifest_blob(system.tenants, C)
    assert system.symbols["vectors"] == C["HYP_BASE"] + 0x800
    assert system.symbols["hello:loop"] == C["TENANT_PA_BASE"] + 4
    assert system.symbols["counter:_start"] == 0x48000000
    hello, counter = system.tenants
    assert (hello.name, hello.index, hello.ipa, hello.pa, hello.size, hello.entry) == \
        ("hello", 0, IPA, C["TENANT_PA_BASE"], MiB2, IPA)
    assert counter.pa == 0x48000000 and counter.symbols == {"_start": IPA, "loop": IPA + 4}
    assert counter.symbol_table().lookup(IPA + 6) == "loop+0x2"
    assert counter.ipa_to_pa(IPA + 0x10) == 0x48000010 and counter.ipa_to_pa(IPA + MiB2) is None
    assert system.tenant_at(0x48000004) is counter


def test_default_pa_follows_the_stride():
    system = pack_system(hyp_image(), [(f"t{i}", tenant_image(f"t{i}"), MiB2, None) for i in range(3)], C)
    assert [t.pa for t in system.tenants] == [C["TENANT_PA_BASE"] + i * C["TENANT_PA_STRIDE"] for i in range(3)]


def test_system_round_trips_through_elf(tmp_path):
    system = pack_system(hyp_image(), [("hello", tenant_image("hello"), MiB2, None)], C)
    loaded = load_elf(write_elf(system, tmp_path / "sys.elf"))
    assert sorted(loaded.segments, key=lambda s: s.addr) == sorted(system.segments, key=lambda s: s.addr)
    assert loaded.symbols == system.symbols
    [placement] = read_placements(loaded, C)
    expected = system.tenants[0]
    assert placement == TenantPlacement(expected.name, 0, IPA, expected.pa, MiB2, IPA, expected.symbols, image="")
    assert placement.symbols == {"_start": IPA, "loop": IPA + 4}


def test_tenant_image_bigger_than_its_memory():
    with pytest.raises(EmuError, match=r"tenant 'big' \(image big\): image needs 0x200004 bytes but the tenant "
                                       r"has memory 0x200000"):
        pack_system(hyp_image(), [("big", tenant_image("big", 8, MiB2 - 4), MiB2, None)], C)


def test_tenant_segment_outside_its_ipa_window():
    low = Image("low", 0x40200000, [Segment(0x40200000, NOP, 4)], {})
    with pytest.raises(EmuError, match=r"segment 0x40200000-0x40200003 lies outside the tenant's IPA window "
                                       r"0x40000000-0x401fffff"):
        pack_system(hyp_image(), [("low", low, MiB2, None)], C)


def test_tenant_ram_over_the_hypervisor_is_refused():
    with pytest.raises(EmuError, match="tenant 'x' RAM 0x40200000-0x403fffff overlaps hypervisor"):
        pack_system(hyp_image(), [("x", tenant_image("x"), MiB2, C["HYP_BASE"])], C)


def test_too_many_tenants_for_pack_system():
    tenants = [(f"t{i}", tenant_image("t"), MiB2, None) for i in range(C["MAX_TENANTS"] + 1)]
    with pytest.raises(EmuError, match="at most MAX_TENANTS"):
        pack_system(hyp_image(), tenants, C)


# --- manifest files -------------------------------------------------------------------------

GOOD = """
hypervisor = "hyp"
[[tenant]]
name = "hello"
image = "hello"
memory = 0x200000
[[tenant]]
name = "counter"
image = "counter"
memory = 0x400000
pa = 0x44000000
"""


def test_load_manifest(tmp_path):
    m = load_manifest(write(tmp_path, GOOD), {"hyp", "hello", "counter"}, C)
    assert m.hypervisor == "hyp"
    assert [(t.name, t.image, t.memory, t.pa) for t in m.tenants] == [
        ("hello", "hello", MiB2, None), ("counter", "counter", 2 * MiB2, 0x44000000)]


def test_shipped_manifests_load():
    for path in sorted((REPO / "manifests").glob("*.toml")):
        assert load_manifest(path, None, C).tenants


@pytest.mark.parametrize("text,message", [
    ('hypervisor = "hyp"\ncolour = 1\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\n',
     "m.toml: colour: unknown key (expected: hypervisor, quantum_us, pool, scheduler, tenant)"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\nvcpus=2\n',
     "m.toml: tenant[0].vcpus: unknown key (expected: name, image, raw, memory, pa, irqs, cores, manager, console_input, start, toe)"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nmemory=0x200000\n', "m.toml: tenant[0].image: missing"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="nosuch"\nmemory=0x200000\n',
     "tenant 'a': image 'nosuch' is not declared in images.toml"),
    ('hypervisor = "nohyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\n',
     "m.toml: hypervisor: image 'nohyp' is not declared in images.toml"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x300000\n',
     "tenant 'a': memory 0x300000 is not a positive multiple of 2 MiB"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x2000000\n',
     "tenant 'a': memory 0x2000000 exceeds TENANT_PA_STRIDE"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a_name_of_32_characters_exactly_"\nimage="hello"\nmemory=0x200000\n',
     "m.toml: tenant[0].name: 'a_name_of_32_characters_exactly_' is not 1 to 31 of A-Z a-z 0-9 _ . -"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="two words"\nimage="hello"\nmemory=0x200000\n',
     "m.toml: tenant[0].name: 'two words' is not 1 to 31 of A-Z a-z 0-9 _ . -"),
    # a name is a console tag: "[hyp]x" would forge the hypervisor's lines
    ('hypervisor = "hyp"\n[[tenant]]\nname="hyp]x"\nimage="hello"\nmemory=0x200000\n',
     "m.toml: tenant[0].name: 'hyp]x' is not 1 to 31 of A-Z a-z 0-9 _ . -"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a\\u001b[2J"\nimage="hello"\nmemory=0x200000\n',
     "m.toml: tenant[0].name: 'a\\x1b[2J' is not 1 to 31"),
    ('hypervisor = "hyp"\n[[tenant]]\nname=""\nimage="hello"\nmemory=0x200000\n',
     "m.toml: tenant[0].name: '' is not 1 to 31"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory="2M"\n', "m.toml: tenant[0].memory: must be an integer, not '2M'"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\npa=0x41100000\n',
     "pa 0x41100000 is not 2 MiB aligned"),
    ('hypervisor = "hyp"\n' + '[[tenant]]\nname="a"\nimage="hello"\nmemory=0x400000\npa=0x44000000\n'
     + '[[tenant]]\nname="b"\nimage="hello"\nmemory=0x200000\npa=0x44200000\n',
     "tenant 'b': RAM 0x44200000-0x443fffff overlaps tenant 'a' at 0x44000000-0x443fffff"),
    ('hypervisor = "hyp"\n' + '[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\n' * 2,
     "tenant 'a': name used by two tenants"),
    ('hypervisor = "hyp"\n', "m.toml: tenant: missing"),
    ('hypervisor = "hyp"\ntenant = []\n', "m.toml: tenant: 0 entries; expected 1 to 64"),
    ('hypervisor = "hyp"\n[[tenant]\n', "not valid TOML"),
    ('hypervisor = "hyp"\nquantum_us = -1\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\n',
     "m.toml: quantum_us: -1 is out of range (0..10000000)"),
    ('hypervisor = "hyp"\nquantum_us = "2ms"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\n',
     "m.toml: quantum_us: must be an integer, not '2ms'"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\nirqs=48\n',
     "m.toml: tenant[0].irqs: must be an array, not 48"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\nirqs=["48"]\n',
     "m.toml: tenant[0].irqs[0]: must be an integer, not '48'"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\nirqs=[27]\n',
     "tenant 'a': irq 27 is not an SPI the manifest can assign (32..95)"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\nirqs=[96]\n',
     "tenant 'a': irq 96 is not an SPI the manifest can assign (32..95)"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\nirqs=[40, 40]\n',
     "tenant 'a': irq 40 is listed twice"),
    ('hypervisor = "hyp"\n' + '[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\nirqs=[42, 48]\n'
     + '[[tenant]]\nname="b"\nimage="hello"\nmemory=0x200000\nirqs=[48]\n',
     "tenant 'b': irq 48 is already given to tenant 'a'"),
    # the board's own devices keep their SPIs: 33 is the UART's, the hypervisor's console
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\nirqs=[33]\n',
     "m.toml: tenant 'a': irq 33 is the SPI of board virt's device uart0, not a tenant's"),
    # what the hypervisor refuses at boot is refused by the build: PAs past 4 GiB, outside RAM
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\npa=0x100000000\n',
     "m.toml: tenant 'a': RAM 0x100000000-0x1001fffff is past PA_LIMIT 0x100000000"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\npa=0xffe00000\n',
     "m.toml: tenant 'a': RAM 0xffe00000-0xffffffff lies outside the RAM of board virt 0x40000000-0x7fffffff"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\npa=0x7fe00000\n'
     '[[tenant]]\nname="b"\nimage="hello"\nmemory=0x400000\npa=0x7fe00000\n',
     "m.toml: tenant 'b': RAM 0x7fe00000-0x801fffff lies outside the RAM of board virt"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\npa=0xffffffffffe00000\n',
     "m.toml: tenant 'a': RAM 0xffffffffffe00000-0xffffffffffffffff is past PA_LIMIT 0x100000000"),
    # the pool and the manager (docs/dynamic.md)
    ('hypervisor = "hyp"\npool = 0x300000\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\n',
     "m.toml: pool 0x300000 is not a multiple of 2 MiB up to POOL_BLOCKS_MAX blocks (0x8000000)"),
    ('hypervisor = "hyp"\npool = 0x8200000\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\n',
     "m.toml: pool 0x8200000 is not a multiple of 2 MiB up to POOL_BLOCKS_MAX blocks"),
    ('hypervisor = "hyp"\npool = 0x400000\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\npa=0x48200000\n',
     "m.toml: tenant 'a': RAM 0x48200000-0x483fffff overlaps the pool 0x48000000-0x483fffff"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\nmanager=true\n'
     '[[tenant]]\nname="b"\nimage="hello"\nmemory=0x200000\nmanager=true\n',
     "m.toml: tenants 'a' and 'b' are both manager = true; one tenant at most manages the others"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\nmanager=1\n',
     "m.toml: tenant[0].manager: must be true or false, not 1"),
    ('hypervisor = "hyp"\nscheduler = "primary"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\n',
     'm.toml: scheduler = "primary" needs a tenant with manager = true to be the primary'),
    ('hypervisor = "hyp"\nscheduler = "primary"\nquantum_us = 1000\n[[tenant]]\nname="a"\nimage="hello"\n'
     'memory=0x200000\nmanager=true\n', 'm.toml: scheduler = "primary": the primary schedules, so no quantum_us'),
    ('hypervisor = "hyp"\nscheduler = "primary"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\n'
     'manager=true\ncores=[1]\n', "m.toml: tenant 'a': cores [1]: under a primary every tenant is one vCPU on core 0"),
    ('hypervisor = "hyp"\nscheduler = "kernel"\n[[tenant]]\nname="a"\nimage="hello"\nmemory=0x200000\n',
     "m.toml: scheduler: 'kernel' is not one of hypervisor, primary"),
    # nesting the TOML parser cannot follow, and nesting it can but the schema does not want
    ('hypervisor = "hyp"\nx = ' + "[" * 5000 + "]" * 5000 + "\n", "m.toml: not valid TOML: arrays or tables nested too deeply"),
    ('hypervisor = "hyp"\n[[tenant]]\nname="a"\nimage="hello"\nmemory.' + "a." * 5000 + "b = 1\n",
     "m.toml: tenant[0].memory: must be an integer, not a table"),
])
def test_manifest_errors_are_one_line(tmp_path, text, message):
    with pytest.raises(EmuError) as info:
        load_manifest(write(tmp_path, text), {"hyp", "hello"}, C)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith(str(tmp_path / "m.toml"))


def test_too_many_tenants_in_a_manifest(tmp_path):
    n = C["MAX_TENANTS"] + 1
    text = 'hypervisor = "hyp"\n' + "".join(
        f'[[tenant]]\nname="t{i}"\nimage="hello"\nmemory=0x200000\n' for i in range(n))
    with pytest.raises(EmuError, match=f"{n} tenants; at most MAX_TENANTS = {n - 1}"):
        load_manifest(write(tmp_path, text), None, C)


# --- interrupts and time slices --------------------------------------------------------------

def test_quantum_is_converted_to_counter_ticks():
    assert quantum_ticks(0) == 0
    assert quantum_ticks(2000) == 125_000          # 2 ms at 62.5 MHz
    assert quantum_ticks(1) == 62                  # 62.5 ticks, rounded down


def test_spi_bitmap_puts_intid_32_at_bit_0():
    assert spi_bitmap([]) == 0
    assert spi_bitmap([32, 33, 95]) == 1 | 2 | 1 << 63


def test_quantum_and_spis_go_into_the_blob(tmp_path):
    names = ["MF_QUANTUM", "MF_TENANTS", "MF_TENANT_SIZE", "MT_SPIS"]
    src = tmp_path / "offsets.s"
    src.write_text('.include "manifest.inc"\n' + "".join(f".quad {n}\n" for n in names))
    off = dict(zip(names, struct.unpack(f"<{len(names)}Q", assemble(src, 0, [INCLUDE]).segments[0].data)))
    system = pack_system(hyp_image(), [("a", tenant_image("a"), MiB2, None, (48, 42)),
                                       ("b", tenant_image("b"), MiB2, None)], C, quantum=125_000)
    blob = next(s.data for s in system.segments if s.addr == C["MANIFEST_PA"])
    assert struct.unpack_from("<Q", blob, off["MF_QUANTUM"])[0] == 125_000
    spis = [struct.unpack_from("<Q", blob, off["MF_TENANTS"] + i * off["MF_TENANT_SIZE"] + off["MT_SPIS"])[0]
            for i in range(2)]
    assert spis == [1 << 10 | 1 << 16, 0]
    assert [t.irqs for t in system.tenants] == [(42, 48), ()]


def test_spis_round_trip_through_elf(tmp_path):
    system = pack_system(hyp_image(), [("a", tenant_image("a"), MiB2, None, [64, 40])], C)
    [placement] = read_placements(load_elf(write_elf(system, tmp_path / "sys.elf")), C)
    assert placement.irqs == (40, 64)


def test_an_spi_given_to_two_tenants_is_refused_by_pack_system():
    with pytest.raises(EmuError, match="tenant 'b': irq 48 is already given to tenant 'a'"):
        pack_system(hyp_image(), [("a", tenant_image("a"), MiB2, None, [48]),
                                  ("b", tenant_image("b"), MiB2, None, [48])], C)


def test_manifest_with_quantum_and_irqs_packs(tmp_path):
    text = GOOD.replace('hypervisor = "hyp"', 'hypervisor = "hyp"\nquantum_us = 2000') \
               .replace('memory = 0x200000', 'memory = 0x200000\nirqs = [48, 42]')
    m = load_manifest(write(tmp_path, text), {"hyp", "hello", "counter"}, C)
    assert m.quantum_us == 2000 and m.quantum_ticks == 125_000
    assert [t.irqs for t in m.tenants] == [(48, 42), ()]
    images = {"hyp": hyp_image(), "hello": tenant_image("hello"), "counter": tenant_image("counter")}
    system = pack_manifest(m, images, C)
    assert system.name == "m"
    assert [t.irqs for t in system.tenants] == [(42, 48), ()]
    blob = next(s.data for s in system.segments if s.addr == C["MANIFEST_PA"])
    assert struct.unpack_from("<Q", blob, C["MF_QUANTUM"])[0] == 125_000


def test_manifest_without_the_new_fields_is_cooperative_and_owns_no_spi(tmp_path):
    m = load_manifest(write(tmp_path, GOOD), {"hyp", "hello", "counter"}, C)
    assert m.quantum_ticks == 0 and all(t.irqs == () for t in m.tenants)


def test_pack_system_refuses_a_name_that_forges_a_console_tag():
    # emu run hyp.elf --tenant 'hyp]x.elf' names the tenant after the file
    for bad in ("hyp]x", "a\nhyp: x", "", "x" * 32, "caf\u00e9"):
        with pytest.raises(EmuError, match=r"tenant name .* is not 1 to 31 of A-Z a-z 0-9 _ \. -"):
            pack_system(hyp_image(), [(bad, tenant_image("t"), MiB2, None)], C)
    assert pack_system(hyp_image(), [("rtos_a-1.2", tenant_image("t"), MiB2, None)], C).tenants[0].name == "rtos_a-1.2"


def test_pack_system_refuses_a_board_devices_spi():
    with pytest.raises(EmuError, match="tenant 'a': irq 33 is the SPI of board virt's device uart0"):
        pack_system(hyp_image(), [("a", tenant_image("a"), MiB2, None, [33])], C)


def test_pack_system_refuses_an_entry_the_hypervisor_would():
    odd = Image("odd", IPA + 2, [Segment(IPA, NOP * 2, 8, "rx")], {})
    with pytest.raises(EmuError, match=r"tenant 'odd' \(image odd\): entry 0x40000002 is outside the image or not word aligned"):
        pack_system(hyp_image(), [("odd", odd, MiB2, None)], C)


# --- prebuilt tenant images -------------------------------------------------------------------

def tenant_elf(path: Path, base: int = IPA) -> Path:
    """A small tenant ELF linked at ``base``, as any toolchain could write it."""
    write_elf(Image("t", base + 4, [Segment(base, NOP * 4, 16, "rx")], {"_start": base + 4}), path)
    return path


def manifest_for(tmp_path: Path, image: str, extra: str = "") -> Path:
    return write(tmp_path, f'hypervisor = "hyp"\n[[tenant]]\nname = "app"\nimage = "{image}"\n'
                           f'memory = 0x200000\n{extra}')


@pytest.mark.parametrize("image", ["app.elf", "bin/app", "./app.elf"])
def test_an_image_with_a_slash_or_suffix_is_a_file_beside_the_manifest(tmp_path, image):
    (tmp_path / "bin").mkdir()
    tenant_elf(tmp_path / image)
    m = load_manifest(manifest_for(tmp_path, image), {"hyp"}, C)
    [t] = m.tenants
    assert t.file == tmp_path / image and t.raw is None
    system = pack_manifest(m, {"hyp": hyp_image()}, C)
    assert system.tenants[0].entry == IPA + 4 and system.tenants[0].name == "app"


def test_an_image_file_is_also_looked_for_under_the_project_root(tmp_path):
    root, here = tmp_path / "root", tmp_path / "manifests"
    (root / "out").mkdir(parents=True)
    here.mkdir()
    tenant_elf(root / "out" / "app.elf")
    m = load_manifest(manifest_for(here, "out/app.elf"), {"hyp"}, C, root=root)
    assert m.tenants[0].file == root / "out" / "app.elf"


def test_a_raw_binary_is_loaded_and_entered_at_its_raw_ipa(tmp_path):
    (tmp_path / "app.bin").write_bytes(NOP * 8)
    m = load_manifest(manifest_for(tmp_path, "app.bin", "raw = 0x40001000\n"), {"hyp"}, C)
    system = pack_manifest(m, {"hyp": hyp_image()}, C)
    [t] = system.tenants
    assert t.entry == IPA + 0x1000
    assert any(s.addr == t.pa + 0x1000 and s.data == NOP * 8 for s in system.segments)


@pytest.mark.parametrize("image,extra,message", [
    ("missing.elf", "", "tenant 'app': image file 'missing.elf' not found (looked in "),
    ("app.bin", "", "tenant 'app': image 'app.bin' is a raw binary: give raw = the IPA to load and enter it at "
                    "(TENANT_IPA_BASE 0x40000000)"),
    ("hello", "raw = 0x40000000\n", "tenant 'app': raw goes with an image file (a path, .elf or .bin), not image "
                                    "name 'hello'"),
    ("app.elf", "raw = -1\n", "m.toml: tenant[0].raw: -0x1 is out of range"),
])
def test_image_file_errors_are_one_line(tmp_path, image, extra, message):
    (tmp_path / "app.bin").write_bytes(NOP)
    tenant_elf(tmp_path / "app.elf")
    with pytest.raises(EmuError) as info:
        load_manifest(manifest_for(tmp_path, image, extra), {"hyp", "hello"}, C)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_an_elf_linked_away_from_the_tenant_ipa_is_refused_with_where_to_link_it(tmp_path):
    tenant_elf(tmp_path / "low.elf", 0x40080000 - 0x100000)
    m = load_manifest(manifest_for(tmp_path, "low.elf"), {"hyp"}, C)
    with pytest.raises(EmuError, match=r"tenant 'app' \(image low\): segment 0x3ff80000-0x3ff8000f lies outside "
                                       r"the tenant's IPA window 0x40000000-0x401fffff: link it at "
                                       r"TENANT_IPA_BASE 0x40000000$"):
        pack_manifest(m, {"hyp": hyp_image()}, C)


# --- cores ------------------------------------------------------------------------------------

def test_cores_go_into_the_blob_and_come_back_from_the_elf(tmp_path):
    text = GOOD.replace('memory = 0x200000', 'memory = 0x200000\ncores = [2, 1]', 1)
    m = load_manifest(write(tmp_path, text), {"hyp", "hello", "counter"}, C)
    assert [t.cores for t in m.tenants] == [(2, 1), (0,)]
    images = {"hyp": hyp_image(), "hello": tenant_image("hello"), "counter": tenant_image("counter")}
    system = pack_manifest(m, images, C)
    blob = next(s.data for s in system.segments if s.addr == C["MANIFEST_PA"])
    rec = C["MF_TENANTS"]
    assert struct.unpack_from("<I", blob, rec + C["MT_VCPUS"])[0] == 2
    assert blob[rec + C["MT_CORES"]:rec + C["MT_CORES"] + 2] == bytes([2, 1])
    placements = read_placements(load_elf(write_elf(system, tmp_path / "sys.elf")), C)
    assert [p.cores for p in placements] == [(2, 1), (0,)]


@pytest.mark.parametrize("cores,message", [
    ("[]", r"cores: 0 entries; expected 1 to 64"),
    ("[0, 1, 2, 3, 0]", r"cores: 5 cores; a tenant has 1 to MAX_VCPUS = 4"),
    ("[4]", r"cores: core 4 is not 0\.\.3 \(MAX_CORES 4\)"),
    ("[-1]", r"cores: core -1 is not 0\.\.3"),
    ("[1, 1]", r"cores: \[1, 1\] names a core twice"),
    ('["1"]', r"cores\[0\]"),
])
def test_bad_cores_are_refused_in_one_line(tmp_path, cores, message):
    text = GOOD.replace('memory = 0x200000', f'memory = 0x200000\ncores = {cores}', 1)
    with pytest.raises(EmuError, match=message) as info:
        load_manifest(write(tmp_path, text), {"hyp", "hello", "counter"}, C)
    assert "\n" not in str(info.value)


def test_pack_system_refuses_bad_cores():
    with pytest.raises(EmuError, match=r"tenant 'a': cores: \[2, 2\] names a core twice"):
        pack_system(hyp_image(), [("a", tenant_image("a"), MiB2, None, (), (2, 2))], C)


# --- TOE shares -------------------------------------------------------------------------------

def test_a_toe_share_goes_into_the_blob_and_comes_back_from_the_elf(tmp_path):
    text = GOOD.replace('memory = 0x200000', 'memory = 0x200000\ntoe = { sessions = 3, listen = [7000], '
                        'connect = "127.0.0.1:9000" }', 1)
    m = load_manifest(write(tmp_path, text), {"hyp", "hello", "counter"}, C)
    assert m.tenants[0].toe == ToeShare(3, (7000,), 0x7F000001, 9000) and m.tenants[1].toe is None
    images = {"hyp": hyp_image(), "hello": tenant_image("hello"), "counter": tenant_image("counter")}
    placements = read_placements(load_elf(write_elf(pack_manifest(m, images, C), tmp_path / "s.elf")), C)
    assert [p.toe for p in placements] == [ToeShare(3, (7000,), 0x7F000001, 9000), None]


def test_the_pool_and_the_manager_go_into_the_blob_and_come_back_from_the_elf(tmp_path):
    text = "pool = 0x600000\n" + GOOD.replace('memory = 0x200000', 'memory = 0x200000\nmanager = true', 1)
    m = load_manifest(write(tmp_path, text), {"hyp", "hello", "counter"}, C)
    assert m.pool == 0x600000 and [t.manager for t in m.tenants] == [True, False]
    images = {"hyp": hyp_image(), "hello": tenant_image("hello"), "counter": tenant_image("counter")}
    image = load_elf(write_elf(pack_manifest(m, images, C), tmp_path / "s.elf"))
    blob = next(s.data for s in image.segments if s.addr == C["MANIFEST_PA"])
    assert struct.unpack_from("<Q", blob, C["MF_POOL_SIZE"])[0] == 0x600000
    flags = [struct.unpack_from("<I", blob, C["MF_TENANTS"] + i * C["MF_TENANT_SIZE"] + C["MT_FLAGS"])[0]
             for i in range(2)]
    assert flags == [C["MTF_MANAGER"], 0]
    assert [p.manager for p in read_placements(image, C)] == [True, False]


@pytest.mark.parametrize("toe,message", [
    ("{ sessions = 17 }", r"toe\.sessions: 17"),
    ("{ sessions = 2, listen = [7000, 7000] }", r"toe\.listen: \[7000, 7000\] names a port twice"),
    ("{ sessions = 2, listen = [1, 2, 3] }", r"toe\.listen: 3 entries"),
    ('{ sessions = 2, connect = "999.0.0.1" }', r"toe\.connect: '999\.0\.0\.1' is not an IPv4 address"),
    ('{ sessions = 2, connect = "127.0.0.1:99999" }', r"is not an address and port to reach"),
    ("{ listen = [7000] }", r"toe\.sessions: missing"),
    ("{ sessions = 12 }", r"the tenants ask for 24 sessions; the TOE has TOE_SESSIONS = 16"),
])
def test_bad_toe_shares_are_refused_in_one_line(tmp_path, toe, message):
    text = re.sub(r"memory = (0x\w+)", lambda m: f"{m.group(0)}\ntoe = {toe}", GOOD)     # both tenants
    with pytest.raises(EmuError, match=message) as info:
        load_manifest(write(tmp_path, text), {"hyp", "hello", "counter"}, C)
    assert "\n" not in str(info.value)
