"""The initramfs writer (emu/loader/cpio.py): newc entries as the kernel's unpacker reads them
(init/initramfs.c), and the private apt set-up that fetches what the stock Linux test packs."""

from __future__ import annotations

import shutil
import stat

import pytest

from emu.debian_arm64 import PrivateApt, debian_sources
from emu.loader.cpio import Cpio


def parse(blob: bytes) -> list[dict]:
    """newc, read as init/initramfs.c does: 110-byte header, name, data, each 4-byte aligned."""
    out, pos = [], 0
    while True:
        assert blob[pos:pos + 6] == b"070701" and pos % 4 == 0
        f = [int(blob[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        name_end = pos + 110 + f[11]
        name = blob[pos + 110:name_end - 1].decode()
        assert blob[name_end - 1] == 0
        data_start = (name_end + 3) & ~3
        data = blob[data_start:data_start + f[6]]
        pos = (data_start + f[6] + 3) & ~3
        if name == "TRAILER!!!":
            assert pos == len(blob)
            return out
        out.append({"name": name, "ino": f[0], "mode": f[1], "uid": f[2], "nlink": f[4], "mtime": f[5],
                    "data": data, "rdev": (f[9], f[10])})


def sample() -> Cpio:
    c = Cpio()
    c.dir("dev")
    c.node("/dev/console", "c", 5, 1)
    c.dir("bin")
    c.file("bin/busybox", b"\x7fELF" + bytes(range(7)), 0o755)
    c.symlink("bin/sh", "busybox")
    c.file("init", b"#!/bin/busybox sh\n", 0o755)
    return c


def test_entries_round_trip_in_order():
    e = parse(sample().pack())
    assert [x["name"] for x in e] == ["dev", "dev/console", "bin", "bin/busybox", "bin/sh", "init"]
    assert stat.S_ISDIR(e[0]["mode"]) and e[0]["nlink"] == 2
    assert stat.S_ISCHR(e[1]["mode"]) and e[1]["rdev"] == (5, 1) and e[1]["mode"] & 0o7777 == 0o600
    assert stat.S_ISREG(e[3]["mode"]) and e[3]["data"] == b"\x7fELF" + bytes(range(7)) and e[3]["mode"] & 0o777 == 0o755
    assert stat.S_ISLNK(e[4]["mode"]) and e[4]["data"] == b"busybox"
    assert len({x["ino"] for x in e}) == len(e)                       # no accidental hard links
    assert all(x["uid"] == 0 and x["mtime"] == 0 for x in e)          # root-owned, reproducible
    assert sample().pack() == sample().pack()


@pytest.mark.parametrize("path", ["", "/", "a//b", "../x", "a/./b", "TRAILER!!!", "a\0b"])
def test_bad_paths_are_refused(path):
    with pytest.raises(ValueError):
        Cpio().file(path, b"")


def test_duplicates_and_bad_node_kinds_are_refused():
    c = Cpio()
    c.dir("bin")
    with pytest.raises(ValueError, match="twice"):
        c.file("/bin", b"")
    with pytest.raises(ValueError, match="kind"):
        c.node("dev/x", "p", 1, 1)


def test_debian_sources_from_deb822_and_one_line_files(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://mirror.example/debian bookworm main contrib\ndeb http://ppa.example/x jammy main\n")
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n# snapshot\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n")
    key = "/usr/share/keyrings/debian-archive-keyring.gpg"
    assert debian_sources(tmp_path) == [
        ("http://mirror.example/debian", "bookworm", "main contrib", key),
        ("http://deb.debian.org/debian", "bookworm", "main", key),
        ("http://deb.debian.org/debian", "bookworm-updates", "main", key)]


def test_private_apt_writes_only_under_its_root(tmp_path):
    etc = tmp_path / "etc"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list").write_text("deb http://deb.debian.org/debian bookworm main\n")
    if not shutil.which("apt-get"):
        pytest.skip("apt-get not found")
    apt = PrivateApt(tmp_path / "apt", etc)
    opts = dict(o.split("=", 1) for o in apt.options if "=" in o)
    assert opts["APT::Architecture"] == "arm64" and opts["APT::Architectures"] == "arm64"
    for key in ("Dir::State", "Dir::State::status", "Dir::Cache", "Dir::Etc::SourceParts", "Dir::Etc::PreferencesParts"):
        assert opts[key].startswith(str(tmp_path / "apt")), key
    assert opts["Dir::Etc::SourceList"] == "/dev/null" and opts["Dir::Etc::Preferences"] == "/dev/null"
    src = (tmp_path / "apt" / "sources.list.d" / "debian-arm64.sources").read_text()
    assert "Architectures: arm64" in src and "URIs: http://deb.debian.org/debian" in src
