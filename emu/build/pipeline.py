"""The build pipeline: ``images.toml`` + ``manifests/*.toml`` -> ELF files in ``build/``.

``images.toml`` (at the repository root) declares images as data::

    [image.hyp]                      # one image, named hyp
    source = "firmware/hyp.s"        # path from the repository root
    base = "HYP_BASE"                # link address: a number or a firmware constant's name

    [group.probes]                   # a family of images
    glob = "guest/probes/*.s"        # every match is an image ...
    prefix = "probe_"                # ... named prefix + file stem (probe_hvc)
    base = 0x40200000

A declared ``[image.X]`` takes precedence over a group member of the same name, so one
member can be given another base. Group members exist only if their files do; a declared
image whose source is missing is an error when that image is built.

Each image is assembled (include search: the source's directory, then
``firmware/include``) and written to ``out/NAME.elf``. Each ``manifests/M.toml`` becomes a
system image ``out/M.elf`` (see :mod:`emu.build.manifest`). Everything requested is
rebuilt every time (assembly takes milliseconds); a file is rewritten only when its bytes
change. A manifest that cannot be read or packed does not stop the others: everything else
is built, then :class:`BuildError` names each broken manifest in one line.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from emu.build.asm import assemble
from emu.loader.constants import firmware_constants
from emu.build.elf import write_elf
from emu.build.manifest import load_manifest, pack_manifest
from emu.errors import EmuError
from emu.loader.image import Image

IMAGES_FILE = "images.toml"
FIRMWARE_INCLUDE = Path("firmware") / "include"
MANIFEST_DIR = "manifests"

_IMAGE_KEYS = {"source", "base"}
_GROUP_KEYS = {"glob", "base", "prefix"}


def project_root() -> Path:
    """The source tree holding images.toml: the working directory or one above it, else the
    checkout this package was installed from (``pip install -e``)."""
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "images.toml").is_file():
            return d
    d = Path(__file__).resolve().parents[2]
    if (d / "images.toml").is_file():
        return d
    raise EmuError("cannot find the project sources (images.toml); run from the checkout")


@dataclass(frozen=True)
class ImageSpec:
    """One image to assemble: its name, source file and link address."""

    name: str
    source: Path
    base: int
    group: str | None = None


class BuildError(EmuError):
    """Some systems could not be built: ``errors`` says why, one line each; ``built`` lists
    what was written all the same."""

    def __init__(self, errors: list[EmuError], built: list["Built"]):
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{errors[0]}{more}")
        self.errors = errors
        self.built = built


@dataclass(frozen=True)
class Built:
    """One output of the pipeline: an image or a packed system, and where it was written."""

    name: str
    path: Path
    image: Image
    kind: str  # "image" or "system"


def _base(value, where: str, constants: Mapping[str, int]) -> int:
    if isinstance(value, str):
        if value not in constants:
            raise EmuError(f"{where}: base {value!r} is not a firmware constant (firmware/include/*.inc)")
        return constants[value]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EmuError(f"{where}: base must be an address or a constant name, not {value!r}")
    return value


def load_image_list(root: Path | str) -> dict[str, ImageSpec]:
    """The images declared by ``root/images.toml`` (group members only if their files exist)."""
    root = Path(root)
    path = root / IMAGES_FILE
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise EmuError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise EmuError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"image", "group"})
    if unknown:
        raise EmuError(f"{path}: unknown table {unknown[0]!r} (expected [image.NAME] or [group.NAME])")
    constants = firmware_constants(root / FIRMWARE_INCLUDE)

    specs: dict[str, ImageSpec] = {}
    for name, entry in data.get("image", {}).items():
        where = f"{path}: image {name!r}"
        if not isinstance(entry, dict):
            raise EmuError(f"{where}: must be a table")
        bad = sorted(set(entry) - _IMAGE_KEYS)
        if bad:
            raise EmuError(f"{where}: unknown key {bad[0]!r} (expected: source, base)")
        if not isinstance(entry.get("source"), str) or "base" not in entry:
            raise EmuError(f"{where}: needs source = \"path.s\" and base")
        specs[name] = ImageSpec(name, root / entry["source"], _base(entry["base"], where, constants))
    declared = set(specs)
    for gname, group in data.get("group", {}).items():
        where = f"{path}: group {gname!r}"
        if not isinstance(group, dict):
            raise EmuError(f"{where}: must be a table")
        bad = sorted(set(group) - _GROUP_KEYS)
        if bad:
            raise EmuError(f"{where}: unknown key {bad[0]!r} (expected: glob, base, prefix)")
        if not isinstance(group.get("glob"), str) or "base" not in group:
            raise EmuError(f"{where}: needs glob = \"dir/*.s\" and base")
        base = _base(group["base"], where, constants)
        prefix = group.get("prefix", "")
        if not isinstance(prefix, str):
            raise EmuError(f"{where}: prefix must be a string")
        for source in sorted(root.glob(group["glob"])):
            name = prefix + source.stem
            if not source.is_file() or name in declared:
                continue
            if name in specs:
                raise EmuError(f"{where}: image name {name!r} also comes from group {specs[name].group!r}")
            specs[name] = ImageSpec(name, source, base, gname)
    return specs


def assemble_image(spec: ImageSpec, root: Path) -> Image:
    """Assemble one declared image."""
    if not spec.source.is_file():
        raise EmuError(f"image {spec.name}: source {spec.source} does not exist")
    return assemble(spec.source, spec.base, [spec.source.parent, root / FIRMWARE_INCLUDE])


def build_all(root: Path | str, out_dir: Path | str, names: list[str] | None = None) -> list[Built]:
    """Build the named images and systems (default: all of them) and return what was written.

    A name is an image from images.toml or the stem of a manifest in ``manifests/``; a
    system brings in the images its manifest names.
    """
    root, out_dir = Path(root), Path(out_dir)
    specs = load_image_list(root)
    manifests = {p.stem: p for p in sorted((root / MANIFEST_DIR).glob("*.toml"))}
    for stem in manifests:
        if stem in specs:
            raise EmuError(f"{MANIFEST_DIR}/{stem}.toml: name {stem!r} is also an image in {IMAGES_FILE}; "
                           "outputs would collide")
    if names is None:
        wanted_images, wanted_systems = list(specs), list(manifests)
    else:
        wanted_images, wanted_systems = [], []
        for name in names:
            if name in manifests:
                if name not in wanted_systems:
                    wanted_systems.append(name)
            elif name in specs:
                wanted_images.append(name)
            else:
                raise EmuError(f"unknown image {name!r} (not in {IMAGES_FILE}, no {MANIFEST_DIR}/{name}.toml)")

    constants = firmware_constants(root / FIRMWARE_INCLUDE)
    parsed, broken = {}, []
    for stem in wanted_systems:
        try:
            parsed[stem] = load_manifest(manifests[stem], specs, constants, root=root)
        except EmuError as exc:
            broken.append(exc)
    for m in parsed.values():
        for image_name in [m.hypervisor] + [t.image for t in m.tenants if t.file is None]:
            if image_name not in wanted_images:
                wanted_images.append(image_name)

    images: dict[str, Image] = {}
    results: list[Built] = []
    for name in dict.fromkeys(wanted_images):
        images[name] = assemble_image(specs[name], root)
        results.append(Built(name, write_elf(images[name], out_dir / f"{name}.elf"), images[name], "image"))
    for stem, m in parsed.items():
        try:
            system = pack_manifest(m, images, constants, name=stem)
        except EmuError as exc:
            broken.append(exc)
            continue
        results.append(Built(stem, write_elf(system, out_dir / f"{stem}.elf"), system, "system"))
    if broken:
        raise BuildError(broken, results)
    return results


def build(root: Path | str, out_dir: Path | str, names: list[str] | None = None) -> dict[str, Path]:
    """Build images and systems; returns name -> ELF path (see :func:`build_all`)."""
    return {b.name: b.path for b in build_all(root, out_dir, names)}


def _find_root(start: Path) -> Path:
    for d in (start, *start.parents):
        if (d / IMAGES_FILE).is_file():
            return d
    raise EmuError(f"no {IMAGES_FILE} in {start} or above; use --root")


def main(argv: list[str] | None = None) -> int:
    """``emu build [--out DIR] [--root DIR] [names...]``: one line per image written."""
    parser = argparse.ArgumentParser(prog="emu build", description="Assemble images and pack systems into ELF files.")
    parser.add_argument("--out", default=None, help="output directory (default: ROOT/build)")
    parser.add_argument("--root", default=None, help="source tree with images.toml (default: found upwards)")
    parser.add_argument("names", nargs="*", help="images or manifests to build (default: all)")
    args = parser.parse_args(argv)
    try:
        root = Path(args.root) if args.root else _find_root(Path.cwd().resolve())
        out = Path(args.out) if args.out else root / "build"
        built = build_all(root, out, args.names or None)
    except BuildError as exc:
        _print_built(exc.built)
        for err in exc.errors:
            print(f"emu: {err}", file=sys.stderr)
        return exc.exit_code
    except EmuError as exc:
        print(f"emu: {exc}", file=sys.stderr)
        return exc.exit_code
    _print_built(built)
    return 0


def _print_built(built: list[Built]) -> None:
    width = max((len(b.name) for b in built), default=0)
    for b in built:
        size = sum(s.memsz for s in b.image.segments)
        print(f"{b.name:<{width}}  {b.path}  {size:#x} bytes  entry {b.image.entry:#x}"
              + (f"  ({len(b.image.tenants)} tenants)" if b.kind == "system" else ""))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
