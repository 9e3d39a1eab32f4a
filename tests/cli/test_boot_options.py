"""emu run --kernel / --initrd / --append / --dtb / --dumpdtb / --bios, as QEMU's virt boots
stock firmware and Linux."""

from __future__ import annotations

import struct
from pathlib import Path

import libfdt
import pytest

from conftest import GUEST, arm64_image
from test_cli_errors import emu, one_line_error

# At flash address 0: the FDT magic read from RAM base (where -bios firmware finds the tree).
BIOS = "movz x0, #0x4000, lsl #16\n" + GUEST


def _asm(code: str, addr: int = 0) -> bytes:
    from keystone import KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN, Ks

    return bytes(Ks(KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN).asm(code, addr)[0])


@pytest.fixture
def image(tmp_path) -> Path:
    path = tmp_path / "Image"
    path.write_bytes(arm64_image())
    return path


def test_kernel_image_gets_the_fdt_in_x0(image):
    code, out, err = emu("run", "--kernel", image, "--append", "console=ttyAMA0", "--max-insns", 100000)
    assert (code, out) == (0, "d00dfeed Z\n"), err


def test_kernel_image_at_el1_calls_psci_by_hvc(tmp_path):
    path = tmp_path / "Image"
    path.write_bytes(arm64_image(code=GUEST.replace("smc #0", "hvc #0")))
    code, out, err = emu("run", "--kernel", path, "--el", 1, "--max-insns", 100000)
    assert (code, out) == (0, "d00dfeed Z\n"), err


def test_bios_starts_at_0_with_the_fdt_at_ram_base(tmp_path):
    fw = tmp_path / "fw.bin"
    fw.write_bytes(_asm(BIOS))
    code, out, err = emu("run", "--bios", fw, "--max-insns", 100000)
    assert (code, out) == (0, "d00dfeed Z\n"), err


def test_dumpdtb_writes_what_the_machine_passes(image, tmp_path, monkeypatch):
    from emu import cli

    initrd = tmp_path / "rd"
    initrd.write_bytes(b"\1" * 5000)
    opts = ["--kernel", str(image), "--initrd", str(initrd), "--append", "rdinit=/init", "--ram", "512M"]
    dump = tmp_path / "emu.dtb"
    assert cli.main(["run", *opts, "--dumpdtb", str(dump)]) == 0
    seen = {}

    def capture(m, args):
        seen["m"] = m
        return 0

    monkeypatch.setattr(cli, "_run", capture)
    assert cli.main(["run", *opts]) == 0
    m = seen["m"]
    blob = dump.read_bytes()
    dtb = m.boot_registers[0]
    assert bytes(m.uc.mem_read(dtb, len(blob))) == blob
    fdt = libfdt.Fdt(bytearray(blob))
    chosen = fdt.path_offset("/chosen")
    start = struct.unpack(">Q", bytes(fdt.getprop(chosen, "linux,initrd-start")))[0]
    end = struct.unpack(">Q", bytes(fdt.getprop(chosen, "linux,initrd-end")))[0]
    assert bytes(m.uc.mem_read(start, end - start)) == b"\1" * 5000
    assert fdt.getprop(chosen, "bootargs").as_str() == "rdinit=/init"
    assert fdt.getprop(fdt.path_offset("/memory@40000000"), "reg")[8:] == struct.pack(">Q", 512 << 20)


def test_dumpdtb_alone_follows_el_and_ram(tmp_path):
    dump = tmp_path / "t.dtb"
    code, _, err = emu("run", "--dumpdtb", dump, "--el", 1, "--ram", "256M")
    assert code == 0, err
    fdt = libfdt.Fdt(bytearray(dump.read_bytes()))
    assert fdt.getprop(fdt.path_offset("/psci"), "method").as_str() == "hvc"


def test_user_dtb_is_passed_with_chosen_patched(image, tmp_path, monkeypatch):
    from emu import cli

    own = tmp_path / "own.dtb"
    assert cli.main(["run", "--dumpdtb", str(own)]) == 0
    dump = tmp_path / "patched.dtb"
    assert cli.main(["run", "--kernel", str(image), "--dtb", str(own), "--append", "quiet",
                     "--dumpdtb", str(dump)]) == 0
    fdt = libfdt.Fdt(bytearray(dump.read_bytes()))
    assert fdt.getprop(fdt.path_offset("/chosen"), "bootargs").as_str() == "quiet"


@pytest.mark.parametrize("args, message", [
    (["--kernel", "{tmp}/missing"], "--kernel {tmp}/missing: No such file or directory"),
    (["--kernel", "{image}", "--ram", "2M"], "Image: load offset 0x200000 is past the end of RAM"),
    (["--append", "x"], "--append goes with --kernel"),
    (["--kernel", "{image}", "--bios", "{image}"], "fw_cfg"),
    (["{image}", "--kernel", "{image}"], "give the image as --kernel"),
    (["--dtb", "{image}", "--kernel", "{image}"], "not a device tree blob"),
    # Endless or blocking files are refused before they are read (they used to be read forever).
    (["--kernel", "/dev/zero"], "--kernel /dev/zero: not a regular file"),
    (["--bios", "/dev/zero"], "--bios /dev/zero: not a regular file"),
    (["--kernel", "{image}", "--initrd", "/dev/zero"], "--initrd /dev/zero: not a regular file"),
    (["--kernel", "{image}", "--dtb", "/dev/zero"], "--dtb /dev/zero: not a regular file"),
    (["--kernel", "{tmp}"], "--kernel {tmp}: not a regular file"),
    (["--dumpdtb", "/dev/full"], "--dumpdtb /dev/full: No space left on device"),
])
def test_bad_boot_input_is_one_line(image, tmp_path, args, message):
    subst = {"tmp": tmp_path, "image": image}
    code, _, err = emu("run", *(a.format(**subst) for a in args))
    assert code == 2
    assert message.format(**subst) in one_line_error(err)


def test_image_too_big_for_ram(tmp_path):
    big = tmp_path / "Image"
    big.write_bytes(arm64_image(image_size=96 << 20))
    code, _, err = emu("run", "--kernel", big, "--ram", "64M")
    assert code == 2
    assert "does not fit in RAM" in one_line_error(err)


def test_bios_larger_than_flash(tmp_path):
    fw = tmp_path / "fw.bin"
    with open(fw, "wb") as f:
        f.truncate((128 << 20) + 1)
    code, _, err = emu("run", "--bios", fw)
    assert code == 2
    assert "do not fit in flash" in one_line_error(err)


def test_initrd_with_an_elf_kernel_is_refused(built, tmp_path):
    rd = tmp_path / "rd"
    rd.write_bytes(b"x")
    code, _, err = emu("run", "--kernel", built["solo"], "--initrd", rd)
    assert code == 2
    assert "--initrd needs a Linux Image" in one_line_error(err)
