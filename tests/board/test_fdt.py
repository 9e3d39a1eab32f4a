"""The device tree generated from the board data (emu/board/fdt.py), read back with libfdt and
dtc, and compared with the one QEMU's virt builds."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import libfdt
import pytest

from emu.board import DeviceSpec, load_board
from emu.board.fdt import FDT_MAGIC, Initrd, build_fdt, patch_fdt
from emu.errors import EmuError


def _tree(blob: bytes) -> libfdt.Fdt:
    return libfdt.Fdt(bytearray(blob))


def _prop(fdt: libfdt.Fdt, path: str, name: str) -> bytes:
    return bytes(fdt.getprop(fdt.path_offset(path), name))


def _str(fdt: libfdt.Fdt, path: str, name: str) -> str:
    return fdt.getprop(fdt.path_offset(path), name).as_str()


def _strings(fdt: libfdt.Fdt, path: str, name: str) -> list[str]:
    return _prop(fdt, path, name).rstrip(b"\0").decode().split("\0")


def _cells(fdt: libfdt.Fdt, path: str, name: str) -> list[int]:
    raw = _prop(fdt, path, name)
    return [int.from_bytes(raw[i:i + 4], "big") for i in range(0, len(raw), 4)]


def test_tree_round_trips_through_libfdt():
    fdt = _tree(build_fdt(load_board()).blob)
    assert fdt.magic() == FDT_MAGIC
    assert _str(fdt, "/", "compatible") == "linux,dummy-virt"
    assert _cells(fdt, "/", "#address-cells") == [2] and _cells(fdt, "/", "#size-cells") == [2]
    assert _cells(fdt, "/", "interrupt-parent") == [fdt.get_phandle(fdt.path_offset("/intc@8000000"))]
    assert _cells(fdt, "/memory@40000000", "reg") == [0, 0x40000000, 0, 0x40000000]
    assert _str(fdt, "/cpus/cpu@0", "compatible") == "arm,cortex-a53"
    assert _str(fdt, "/cpus/cpu@0", "enable-method") == "psci"
    assert _cells(fdt, "/cpus/cpu@0", "reg") == [0]
    assert _strings(fdt, "/psci", "compatible") == ["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]
    assert _str(fdt, "/chosen", "stdout-path") == "/pl011@9000000"
    assert _strings(fdt, "/pl011@9000000", "compatible") == ["arm,pl011", "arm,primecell"]
    assert _cells(fdt, "/pl011@9000000", "interrupts") == [0, 1, 4]          # SPI 1 = INTID 33
    assert _strings(fdt, "/pl011@9000000", "clock-names") == ["uartclk", "apb_pclk"]
    assert _cells(fdt, "/apb-pclk", "clock-frequency") == [24_000_000]


def test_timer_lists_the_four_ppis_as_qemu():
    fdt = _tree(build_fdt(load_board()).blob)
    # secure phys 29, non-secure phys 30, virt 27, hyp 26; level high, CPU mask of one core
    assert _cells(fdt, "/timer", "interrupts") == [1, 13, 0x104, 1, 14, 0x104, 1, 11, 0x104, 1, 10, 0x104]


def test_memory_node_follows_the_ram_size():
    fdt = _tree(build_fdt(load_board().with_ram_size(256 << 20)).blob)
    assert _cells(fdt, "/memory@40000000", "reg") == [0, 0x40000000, 0, 0x10000000]


@pytest.mark.parametrize("el, method", [(2, "smc"), (1, "hvc")])
def test_psci_method_follows_the_boot_el(el, method):
    assert _str(_tree(build_fdt(load_board(), start_el=el).blob), "/psci", "method") == method


def test_gich_gicv_and_maintenance_irq_only_when_the_guest_owns_el2():
    board = load_board()
    frames = board.interrupt_controller.frames
    at_el2 = _tree(build_fdt(board, start_el=2).blob)
    reg = _cells(at_el2, "/intc@8000000", "reg")
    assert reg[0::4][:4] == [0] * 4 and reg[1::4] == [frames[f] for f in ("gicd", "gicc", "gich", "gicv")]
    assert _cells(at_el2, "/intc@8000000", "interrupts") == [1, 9, 4]          # PPI 25
    at_el1 = _tree(build_fdt(board, start_el=1).blob)
    assert _cells(at_el1, "/intc@8000000", "reg")[1::4] == [frames["gicd"], frames["gicc"]]
    assert at_el1.getprop(at_el1.path_offset("/intc@8000000"), "interrupts", (libfdt.NOTFOUND,)) == -libfdt.NOTFOUND


def test_chosen_carries_bootargs_and_initrd():
    fdt = _tree(build_fdt(load_board(), bootargs="console=ttyAMA0 rdinit=/init",
                          initrd=Initrd(0x48000000, 0x48123000)).blob)
    assert _str(fdt, "/chosen", "bootargs") == "console=ttyAMA0 rdinit=/init"
    assert _cells(fdt, "/chosen", "linux,initrd-start") == [0, 0x48000000]
    assert _cells(fdt, "/chosen", "linux,initrd-end") == [0, 0x48123000]


def test_unknown_device_model_gets_no_node_and_is_reported():
    board = load_board()
    odd = DeviceSpec("widget", "pl011", 0x0B000000, 0x1000)
    board = replace(board, devices=[*board.devices, replace(odd, model="toe")])
    tree = build_fdt(board)
    assert tree.skipped == ["widget"]
    fdt = _tree(tree.blob)
    assert fdt.path_offset("/toe@b000000", (libfdt.NOTFOUND,)) == -libfdt.NOTFOUND


def test_patch_sets_memory_and_chosen_in_a_foreign_tree():
    bare = build_fdt(load_board()).blob
    patched = patch_fdt(bare, "user.dtb", ram=(0x40000000, 0x20000000), bootargs="quiet",
                        initrd=Initrd(0x48000000, 0x48001000))
    fdt = _tree(patched)
    assert _cells(fdt, "/memory@40000000", "reg") == [0, 0x40000000, 0, 0x20000000]
    assert _str(fdt, "/chosen", "bootargs") == "quiet"
    assert _cells(fdt, "/chosen", "linux,initrd-end") == [0, 0x48001000]


def test_patch_refuses_what_is_not_a_device_tree():
    with pytest.raises(EmuError, match="user.dtb: not a device tree blob"):
        patch_fdt(b"\x7fELF" + bytes(100), "user.dtb", bootargs="x")
    blob = build_fdt(load_board()).blob
    with pytest.raises(EmuError, match="user.dtb: truncated device tree"):
        patch_fdt(blob[:len(blob) // 2], "user.dtb", bootargs="x")


@pytest.mark.parametrize("el", [1, 2])
def test_dtc_reads_the_tree_without_warnings(dtc, tmp_path, el):
    path = tmp_path / "emu.dtb"
    path.write_bytes(build_fdt(load_board(), start_el=el, bootargs="console=ttyAMA0",
                               initrd=Initrd(0x48000000, 0x48001000)).blob)
    proc = subprocess.run([dtc, "-I", "dtb", "-O", "dts", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert 'compatible = "arm,cortex-a15-gic";' in proc.stdout


def _nodes(fdt: libfdt.Fdt) -> dict[str, int]:
    out, node, depth = {}, 0, 0
    while True:
        try:
            node, depth = fdt.next_node(node, depth)
        except libfdt.FdtException:
            return out
        if depth < 0:
            return out
        out[fdt.get_path(node)] = node


@pytest.mark.qemu
@pytest.mark.parametrize("el", [1, 2])
def test_nodes_match_qemus_virt(qemu, tmp_path, el):
    """Every node both trees have says the same to a guest: compatible, interrupts, and the
    registers' base (QEMU lists 64 KiB GIC frames; the reg here is what the machine maps).
    QEMU's 7.2 lists enable-method only with several cores; it is in the tree here either way."""
    machine = "virt,gic-version=2" + (",virtualization=on" if el == 2 else "")
    dump = tmp_path / "qemu.dtb"
    subprocess.run([qemu, "-M", f"{machine},dumpdtb={dump}", "-cpu", "cortex-a53", "-m", "1G", "-nic", "none",
                    "-display", "none"], capture_output=True, check=True, timeout=60)
    theirs = _tree(dump.read_bytes())
    ours = _tree(build_fdt(load_board(), start_el=el).blob)
    common = sorted(set(_nodes(ours)) & set(_nodes(theirs)))
    assert {"/psci", "/timer", "/intc@8000000", "/pl011@9000000", "/memory@40000000", "/cpus/cpu@0"} <= set(common)
    for path in common:
        for name in ("compatible", "interrupts", "method", "clock-names", "#interrupt-cells", "device_type"):
            a = ours.getprop(ours.path_offset(path), name, (libfdt.NOTFOUND,))
            b = theirs.getprop(theirs.path_offset(path), name, (libfdt.NOTFOUND,))
            if name == "interrupts" and isinstance(a, int) and path.startswith("/virtio_mmio@"):
                continue  # the board leaves the empty transports unwired (emu/board/virt.toml)
            assert (a if isinstance(a, int) else bytes(a)) == (b if isinstance(b, int) else bytes(b)), (path, name)
        a = ours.getprop(ours.path_offset(path), "reg", (libfdt.NOTFOUND,))
        b = theirs.getprop(theirs.path_offset(path), "reg", (libfdt.NOTFOUND,))
        if not isinstance(a, int) and not isinstance(b, int):
            assert _bases(bytes(a), path) == _bases(bytes(b), path)[:len(_bases(bytes(a), path))], path


def _bases(reg: bytes, path: str) -> list[int]:
    if path.startswith("/cpus/"):
        return [int.from_bytes(reg, "big")]
    return [int.from_bytes(reg[i:i + 8], "big") for i in range(0, len(reg), 16)]
