"""images.toml, the build pipeline and the ``emu build`` entry point, on a small source tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from emu.build.pipeline import build, load_image_list, main
from emu.errors import EmuError
from emu.loader.elf import load_elf

REPO = Path(__file__).resolve().parents[2]

IMAGES = """
[image.hyp]
source = "firmware/hyp.s"
base = "HYP_BASE"

[image.hello]
source = "guest/hello.s"
base = "TENANT_IPA_BASE"

[image.ghost]
source = "guest/ghost.s"
base = 0x40000000

[group.probes]
glob = "guest/probes/*.s"
prefix = "probe_"
base = 0x40200000

[group.bad]
glob = "guest/bad/*.s"
base = 0x40200000
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A source tree with the real firmware includes and tiny images."""
    shutil.copytree(REPO / "firmware" / "include", tmp_path / "firmware" / "include")
    (tmp_path / "guest" / "probes").mkdir(parents=True)
    (tmp_path / "manifests").mkdir()
    (tmp_path / "images.toml").write_text(IMAGES)
    (tmp_path / "firmware" / "hyp.s").write_text('.include "board.inc"\n_start: ldr x0, =MANIFEST_PA\nhang: b hang\n')
    (tmp_path / "guest" / "common.inc").write_text("hello_text: .asciz \"hi\"\n.balign 4\n")
    (tmp_path / "guest" / "hello.s").write_text('_start: b main\n.include "common.inc"\nmain: hvc #0\n')
    (tmp_path / "guest" / "probes" / "one.s").write_text("_start: brk #1\n")
    (tmp_path / "guest" / "probes" / "two.s").write_text("_start: svc #2\n")
    (tmp_path / "manifests" / "duo.toml").write_text(
        'hypervisor = "hyp"\n[[tenant]]\nname = "hello"\nimage = "hello"\nmemory = 0x200000\n')
    return tmp_path


def test_image_list_declares_groups_and_images(tree):
    specs = load_image_list(tree)
    assert set(specs) == {"hyp", "hello", "ghost", "probe_one", "probe_two"}  # guest/bad/ does not exist
    assert specs["hyp"].base == 0x40200000 and specs["hello"].base == 0x40000000
    assert specs["probe_one"].group == "probes" and specs["probe_one"].source == tree / "guest/probes/one.s"


def test_build_named_images_writes_elfs(tree):
    out = tree / "build"
    built = build(tree, out, ["hello", "probe_two"])
    assert built == {"hello": out / "hello.elf", "probe_two": out / "probe_two.elf"}
    hello = load_elf(built["hello"])
    assert hello.entry == 0x40000000 and hello.symbols["main"] == 0x40000008
    assert load_elf(built["probe_two"]).segments[0].data == bytes.fromhex("410000d4")  # SVC #2


def test_building_a_manifest_builds_its_images(tree):
    built = build(tree, tree / "out", ["duo"])
    assert set(built) == {"duo", "hyp", "hello"}
    system = load_elf(built["duo"])
    assert system.entry == 0x40200000
    assert system.symbols["hello:main"] == 0x41000008 and system.symbols["hang"] == 0x40200004
    assert any(s.addr == 0x40400000 for s in system.segments)  # the manifest blob


def test_missing_declared_source_is_an_error_when_requested(tree):
    with pytest.raises(EmuError, match=r"image ghost: source .*guest/ghost.s does not exist"):
        build(tree, tree / "out", ["ghost"])
    with pytest.raises(EmuError, match="ghost"):
        build(tree, tree / "out")  # everything includes the declared image


def test_unknown_name(tree):
    with pytest.raises(EmuError, match="unknown image 'nope'"):
        build(tree, tree / "out", ["nope"])


def test_builds_are_byte_identical(tree):
    a = build(tree, tree / "a", ["duo", "probe_one"])
    b = build(tree, tree / "b", ["duo", "probe_one"])
    assert all(a[n].read_bytes() == b[n].read_bytes() for n in a)


def test_unchanged_output_is_not_rewritten(tree):
    path = build(tree, tree / "out", ["hello"])["hello"]
    before = path.stat().st_mtime_ns
    build(tree, tree / "out", ["hello"])
    assert path.stat().st_mtime_ns == before


def test_assembler_errors_propagate_with_file_line(tree):
    (tree / "guest" / "probes" / "one.s").write_text("_start: nop\n  bogus x0\n")
    with pytest.raises(EmuError, match=r"probes/one.s:2: invalid mnemonic"):
        build(tree, tree / "out", ["probe_one"])


@pytest.mark.parametrize("text,message", [
    ('[image.x]\nsource = "a.s"\n', "image 'x': needs source"),
    ('[image.x]\nsource = "a.s"\nbase = "NO_SUCH_CONSTANT"\n', "base 'NO_SUCH_CONSTANT' is not a firmware constant"),
    ('[image.x]\nsource = "a.s"\nbase = 0\nflavour = 1\n', "unknown key 'flavour'"),
    ('[group.g]\nbase = 0\n', "group 'g': needs glob"),
    ('[images.x]\n', "unknown table 'images'"),
])
def test_images_toml_errors(tree, text, message):
    (tree / "images.toml").write_text(text)
    with pytest.raises(EmuError, match=message):
        load_image_list(tree)


def test_main_prints_one_line_per_image(tree, capsys):
    assert main(["--root", str(tree), "--out", str(tree / "out"), "probe_one", "duo"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["probe_one", "hyp", "hello", "duo"]
    assert all("entry 0x" in line for line in lines)
    assert str(tree / "out" / "duo.elf") in lines[-1]


def test_main_reports_errors_in_one_line(tree, capsys):
    assert main(["--root", str(tree), "--out", str(tree / "out"), "ghost"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("emu: image ghost: source") and err.count("\n") == 1


def test_repository_images_toml_declares_the_shipped_images():
    specs = load_image_list(REPO)
    for name in ("hyp", "hello", "counter", "attacker_read", "attacker_write"):
        assert name in specs
    assert specs["hyp"].base == 0x40200000
    assert all(specs[n].base == 0x40000000 for n in ("hello", "counter", "attacker_read", "attacker_write"))
    assert all(s.base == 0x40200000 for s in specs.values() if s.group in ("probes", "bad"))


@pytest.mark.parametrize("text,message", [
    ('hypervisor = "hyp"\nx = ' + "[" * 5000 + "]" * 5000 + "\n", "not valid TOML: arrays or tables nested too deeply"),
    ('hypervisor = "hyp"\n[[tenant]]\nname = "hyp]x"\nimage = "hello"\nmemory = 0x200000\n',
     "tenant[0].name: 'hyp]x' is not 1 to 31"),
    ('hypervisor = "hyp"\n[[tenant]]\nname = "a"\nimage = "hello"\nmemory = 0x200000\npa = 0x100000000\n',
     "tenant 'a': RAM 0x100000000-0x1001fffff is past PA_LIMIT"),
], ids=["nested", "name", "pa"])
def test_a_broken_manifest_is_one_line_and_the_rest_still_builds(tree, capsys, text, message):
    # Regression: a deeply nested manifest raised RecursionError and stopped every emu build.
    (tree / "images.toml").write_text(IMAGES.replace('[image.ghost]\nsource = "guest/ghost.s"\nbase = 0x40000000\n', ""))
    (tree / "manifests" / "broken.toml").write_text(text)
    out = tree / "out"
    assert main(["--root", str(tree), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith(f"emu: {tree / 'manifests' / 'broken.toml'}: {message}")
    assert (out / "duo.elf").is_file() and (out / "probe_one.elf").is_file() and not (out / "broken.elf").exists()
    assert "duo" in captured.out


def test_build_raises_after_writing_the_good_outputs(tree):
    from emu.build.pipeline import BuildError

    (tree / "manifests" / "a.toml").write_text('hypervisor = "hyp"\n')
    (tree / "manifests" / "b.toml").write_text('hypervisor = "hyp"\n[[tenant]]\nname = "x"\nimage = "hello"\n'
                                               'memory = 0x200000\nirqs = [33]\n')
    with pytest.raises(BuildError) as info:
        build(tree, tree / "out", ["a", "b", "duo"])
    assert [str(e) for e in info.value.errors] == [
        f"{tree / 'manifests' / 'a.toml'}: tenant: missing",
        f"{tree / 'manifests' / 'b.toml'}: tenant 'x': irq 33 is the SPI of board virt's device uart0, not a tenant's"]
    assert str(info.value).endswith("tenant: missing (and 1 more)")
    assert {b.name for b in info.value.built} == {"hyp", "hello", "duo"}


def test_a_manifest_may_name_a_prebuilt_tenant_file(tree):
    """An image given as a file (here one emu build wrote, relative to the project root) is
    packed as it is: it is not an images.toml name, so nothing is assembled for it."""
    prebuilt = build(tree, tree / "prebuilt", ["hello"])["hello"]
    (tree / "manifests" / "files.toml").write_text(
        'hypervisor = "hyp"\n[[tenant]]\nname = "from_file"\nimage = "prebuilt/hello.elf"\nmemory = 0x200000\n')
    built = build(tree, tree / "out", ["files"])
    assert set(built) == {"files", "hyp"}
    system = load_elf(built["files"])
    assert system.symbols["from_file:main"] == 0x41000008
    assert load_elf(prebuilt).segments[0].data in b"".join(s.data for s in system.segments)
