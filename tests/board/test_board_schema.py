"""Board files: the schema load_board checks, and --ram through Board.with_ram_size."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from emu.board import RAM_SIZE_MAX, load_board
from emu.errors import EmuError

VIRT = resources.files("emu.board").joinpath("virt.toml").read_text()
VIRT_DEVICES = VIRT.count("[[device]]")  # a device appended to virt is device[VIRT_DEVICES]


def board_file(tmp_path, text: str):
    path = tmp_path / "b.toml"
    path.write_text(text)
    return path


def edited(old: str, new: str) -> str:
    assert VIRT.count(old) == 1, old
    return VIRT.replace(old, new)


def test_virt_loads_as_qemu_virt():
    b = load_board("virt")
    assert (b.ram.base, b.ram.size) == (0x40000000, 0x40000000)
    assert b.memory["flash"].access == "rx"
    assert (b.memory["flash"].model, b.memory["flash"].banks) == ("pflash-cfi01", 2)
    assert [(d.name, d.model, d.base, d.irq) for d in b.devices] == [
        ("uart0", "pl011", 0x09000000, 33), ("rtc", "pl031", 0x09010000, 34),
        ("gpio", "pl061", 0x09030000, 39), ("fw_cfg", "fw-cfg", 0x09020000, None),
        ("virtio", "virtio-mmio", 0x0a000000, None),
        ("v2m", "gicv2m", 0x08020000, None), ("pcie", "gpex", 0x4010000000, None)]
    assert b.interrupt_controller.frames == {"gicd": 0x08000000, "gicc": 0x08010000,
                                             "gich": 0x08030000, "gicv": 0x08040000}
    assert b.device_spis() == {33: "uart0", 34: "rtc", 39: "gpio"}


def test_a_copy_of_virt_loads_from_a_file(tmp_path):
    assert load_board(str(board_file(tmp_path, VIRT))) == load_board("virt").__class__(
        **{**load_board("virt").__dict__, "source": str(tmp_path / "b.toml")})


MALFORMED = [
    # the campaign's tracebacks, each now one line naming the key
    (edited("size = 0x40000000", "size = 0x40001001"), "memory.ram.size: 0x40001001 is not a whole number of 4 KiB pages"),
    (edited("size = 0x40000000", "size = 0"), "memory.ram.size: 0x0 is too small"),
    (edited("size = 0x08000000", "size = 0x40000010"), "memory.flash.size: 0x40000010 is not a whole number"),
    (edited("base = 0x00000000", "base = 0x3c000000"),
     "memory.ram: 0x40000000-0x7fffffff overlaps memory.flash 0x3c000000-0x43ffffff"),
    (edited("base = 0x09000000", "base = 0x08010000"),
     "interrupt_controller.frames.gicc: 0x8010000-0x8011fff overlaps device[0] (uart0) 0x8010000-0x8010fff"),
    (edited("gicv = 0x08040000", "gicv = 0x08000000"),
     "interrupt_controller.frames.gicv: 0x8000000-0x8001fff overlaps interrupt_controller.frames.gicd"),
    (edited("irq = 33", "irq = 5000"), "device[0].irq: 5000 is not an SPI of the GIC, which has SPIs 32..287"),
    (edited("irq = 33", "irq = -1"), "device[0].irq: -1 is not an SPI of the GIC"),
    (edited("irq = 33", "irq = 27"), "device[0].irq: 27 is not an SPI of the GIC"),
    (edited("irq = 33", "irq = 288"), "device[0].irq: 288 is not an SPI of the GIC"),
    (edited("num_spis = 256", "num_spis = 100"), "interrupt_controller.num_spis: 100 is not a multiple of 32"),
    (edited("num_spis = 256", "num_spis = 992"), "interrupt_controller.num_spis: 992 is out of range (0..960)"),
    (edited("num_spis = 256", "num_spis = 0"), "device[0].irq: 33 is not an SPI of the GIC, which has no SPIs"),
    (edited('access = "rx"', "access = 7"), "memory.flash.access: must be a string, not 7"),
    (edited('access = "rx"', 'access = "xr"'), "memory.flash.access: 'xr' is not r, w and/or x in that order"),
    (edited('access = "rx"', 'access = ""'), "memory.flash.access: '' is not r, w and/or x"),
    (edited("irq = 33", 'irq = "33"'), "device[0].irq: must be an integer, not '33'"),
    (edited("gicv = 0x08040000", "gicx = 0x08040000"),
     "interrupt_controller.frames.gicx: unknown key (expected: gicd, gicc, gich, gicv)"),
    # types, ranges, alignment, keys
    (edited('model = "pl011"', 'model = "pl012"'), "device[0].model: 'pl012' is not one of pl011"),
    (edited('model = "gicv2"', 'model = "gicv3"'), "interrupt_controller.model: 'gicv3' is not one of gicv2"),
    (edited("base = 0x09000000", "base = 0x09000800"), "device[0].base: 0x9000800 is not a multiple of 4 KiB"),
    (edited("base = 0x40000000", "base = 1073741824.0"), "memory.ram.base: must be an integer, not a float"),
    (edited("base = 0x40000000", "base = true"), "memory.ram.base: must be an integer, not true"),
    (edited("base = 0x40000000", "base = 0xfffffff000"), "memory.ram: 0xfffffff000-0x1003fffefff reaches past"),
    (edited("base = 0x40000000", "base = 0x10000000000"), "memory.ram.base: 0x10000000000 is out of range"),
    (edited("size = 0x1000\nirq = 33", "size = 0x800\nirq = 33"), "device[0].size: 0x800 is out of range"),
    (edited("size = 0x40000000", "size = 0x240000000"), "memory.ram.size: 0x240000000 is more than RAM_SIZE_MAX"),
    (edited("cores = 1", "cores = 5"), "cores: 5 is out of range (1..4)"),
    (edited('cpu = "cortex-a53"', 'cpu = "cortex-a72"'), "cpu: 'cortex-a72' is not one of cortex-a53"),
    (edited('name = "virt"', 'name = "a board"'), "name: 'a board' is not 1 to 64 letters"),
    (edited("[memory.ram]", "[memory.dram]"), "memory.ram: missing"),
    (edited('name = "uart0"\n', ""), "device[0].name: missing"),
    (VIRT + "\ncolour = 1\n", "colour: unknown key"),
    (edited("irq = 33", "irq = 33\nbaud = 115200"), "device[0].baud: unknown key (expected: name, model, base, size, irq, when)"),
    (edited('access = "rx"', 'access = "rx"\nshared = true'), "memory.flash.shared: unknown key"),
    (edited("frames = { gicd = 0x08000000, ", "frames = { "), "interrupt_controller.frames.gicd: missing"),
    (VIRT + '\n[[device]]\nname = "uart0"\nmodel = "pl011"\nbase = 0x0c000000\nsize = 0x1000\n',
     f"device[{VIRT_DEVICES}].name: 'uart0' names two devices"),
    (VIRT + '\n[[device]]\nname = "uart1"\nmodel = "pl011"\nbase = 0x0c000000\nsize = 0x1000\nirq = 33\n',
     f"device[{VIRT_DEVICES}].irq: SPI 33 is already wired to uart0"),
    (VIRT.split("[interrupt_controller]")[0], "device[0].irq: the board has no interrupt_controller"),
    (VIRT + "\n[memory.x]\n" + "base = 1\n" * 2, "not valid TOML"),
    ("memory = " + "[" * 2000 + "]" * 2000 + "\n", "nested too deeply"),
    ('name = "deep"\nmemory.' + "a." * 5000 + "b = 1\n", "memory.a.a: unknown key (expected: base, size, access, model, banks)"),
    ('name = "virt"\nmemory = ' + "{ a = " * 300 + "1" + " }" * 300 + "\n",
     "memory.a.a: unknown key"),
    ("device = " + "[" * 200 + "]" * 200 + "\n", "name: missing"),
]


@pytest.mark.parametrize("text,message", MALFORMED, ids=[m[:40] for _, m in MALFORMED])
def test_malformed_board_is_one_line_naming_file_and_key(tmp_path, text, message):
    path = board_file(tmp_path, text)
    with pytest.raises(EmuError) as info:
        load_board(str(path))
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert message in text


def test_not_utf8_and_too_big(tmp_path):
    path = tmp_path / "b.toml"
    path.write_bytes(b'name = "\xff"\n')
    with pytest.raises(EmuError, match=r"b.toml: not UTF-8 text \(byte 8\)$"):
        load_board(str(path))
    path.write_text("# " + "x" * (1 << 20))
    with pytest.raises(EmuError, match="b.toml: larger than 1024 KiB"):
        load_board(str(path))


def test_unknown_board_name():
    with pytest.raises(EmuError, match=r"^unknown board 'vert' \(known: virt; or give a .toml file\)$"):
        load_board("vert")


# --- RAM size: board files and --ram go through the same check ----------------------------------

@pytest.mark.parametrize("size,message", [
    (0, "RAM size 0x0 is too small: RAM needs at least one 4 KiB page (board virt)"),
    (-4096, "RAM size -0x1000 is too small"),
    (0x20000001, "RAM size 0x20000001 is not a whole number of 4 KiB pages (board virt)"),
    (RAM_SIZE_MAX + 0x1000, "RAM size 0x200001000 is more than RAM_SIZE_MAX 0x200000000 (8 GiB) (board virt)"),
    (1 << 64, "is more than RAM_SIZE_MAX"),
])
def test_with_ram_size_refuses(size, message):
    with pytest.raises(EmuError) as info:
        load_board("virt").with_ram_size(size)
    assert message in str(info.value)


def test_with_ram_size_accepts_whole_pages_up_to_the_limit():
    virt = load_board("virt")
    assert virt.with_ram_size(0x1000).ram.size == 0x1000
    assert virt.with_ram_size(RAM_SIZE_MAX).ram.size == RAM_SIZE_MAX
    assert virt.ram.size == 0x40000000  # the board itself is unchanged


def test_with_ram_size_keeps_ram_clear_of_devices(tmp_path):
    low = edited("base = 0x40000000\nsize = 0x40000000", "base = 0x08100000\nsize = 0x00100000")
    board = load_board(str(board_file(tmp_path, low)))
    with pytest.raises(EmuError, match=r"with RAM size 0x1000000: device\[0\] \(uart0\): 0x9000000-0x9000fff "
                                       r"overlaps memory.ram 0x8100000-0x90fffff"):
        board.with_ram_size(0x1000000)


def test_board_models_are_the_machines():
    from emu.board import DEVICE_MODELS
    from emu.board.builder import DEVICE_MODELS as FACTORIES

    assert set(DEVICE_MODELS) == set(FACTORIES)


def test_memory_models_are_the_machines():
    from emu.board import MEMORY_MODELS
    from emu.board.builder import MEMORY_MODELS as FACTORIES

    assert set(MEMORY_MODELS) == set(FACTORIES)


def test_banks_need_a_model(tmp_path):
    with pytest.raises(EmuError, match=r"memory.flash.banks: needs a model"):
        load_board(str(board_file(tmp_path, VIRT.replace('model = "pflash-cfi01"\n', ""))))


# --- through the command line ---------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["--board", "{bad}"], "emu: {bad}: device[0].irq: 27 is not an SPI of the GIC"),
    (["--ram", "4097"], "emu: RAM size 0x1001 is not a whole number of 4 KiB pages (board virt)"),
    (["--ram", "16G"], "emu: RAM size 0x400000000 is more than RAM_SIZE_MAX"),
])
def test_emu_run_reports_a_bad_board_or_ram_in_one_line(tmp_path, capsys, args, message):
    from emu.build.elf import elf_bytes
    from emu.cli import main
    from emu.loader.image import Image, Segment

    elf = tmp_path / "wfi.elf"
    elf.write_bytes(elf_bytes(Image("wfi", 0x40000000, [Segment(0x40000000, bytes.fromhex("7f2003d5"), 4, "rx")])))
    bad = board_file(tmp_path, edited("irq = 33", "irq = 27"))
    code = main(["run", str(elf), "--max-insns", "100", *[a.format(bad=bad) for a in args]])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith(message.format(bad=bad))


def test_a_board_option_adds_the_devices_it_names_and_nothing_else():
    from emu.board import load_board

    plain, smmu = load_board("virt"), load_board("virt,iommu=smmuv3")
    assert "smmu" not in [d.name for d in plain.devices]
    [dev] = [d for d in smmu.devices if d.name == "smmu"]
    assert (dev.model, dev.base, dev.size, dev.irq) == ("smmuv3", 0x09050000, 0x20000, 106)
    assert [d for d in smmu.devices if d.name != "smmu"] == plain.devices


@pytest.mark.parametrize("name,message", [
    ("virt,iommu=foo", "board virt has no option 'iommu=foo' (options: iommu=smmuv3, toe=on)"),
    ("virt,iommu", "board option 'iommu' is not key=value"),
    ("virt,,", "board option '' is not key=value"),
])
def test_bad_board_options_are_one_line(name, message):
    from emu.board import load_board

    with pytest.raises(EmuError) as err:
        load_board(name)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_device_taking_several_spis_has_them_all_checked(tmp_path):
    from emu.board import load_board

    text = (Path(__file__).resolve().parents[2] / "emu" / "board" / "virt.toml").read_text()
    bad = tmp_path / "b.toml"
    bad.write_text(text.replace("irq = 106", "irq = 285"))     # 285..288: past the GIC's 287
    with pytest.raises(EmuError, match=r"device\[\d+\]\.irq: 288 is not an SPI of the GIC"):
        load_board(f"{bad},iommu=smmuv3")
