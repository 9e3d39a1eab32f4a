"""A cpio "newc" archive writer for initramfs images (Linux's Documentation/driver-api/
early-userspace/buffer-format.rst), needing no root: device nodes, owners and modes are
written as entries, not made on the host.

    from emu.loader.cpio import Cpio
    c = Cpio()
    c.dir("dev"); c.node("dev/console", "c", 5, 1)
    c.file("bin/busybox", busybox_bytes, 0o755); c.symlink("bin/sh", "busybox")
    c.file("init", b"#!/bin/busybox sh\\n...", 0o755)
    Path("initramfs.cpio").write_bytes(c.pack())   # gzip it or not: the kernel takes both

Entries keep the order they are added in (a directory before what it holds); every owner is
root and every mtime 0, so the same entries give the same bytes.
"""

from __future__ import annotations

import stat

MAGIC = b"070701"
TRAILER = "TRAILER!!!"


class Cpio:
    def __init__(self) -> None:
        self._entries: list[tuple[str, int, bytes, int, int]] = []   # name, mode, data, rdev major, minor
        self._names: set[str] = set()

    def _add(self, path: str, mode: int, data: bytes = b"", rmajor: int = 0, rminor: int = 0) -> None:
        name = path.strip("/")
        if not name or name == TRAILER or "\0" in name or any(p in ("", ".", "..") for p in name.split("/")):
            raise ValueError(f"cpio: bad path {path!r}")
        if name in self._names:
            raise ValueError(f"cpio: {name} added twice")
        self._names.add(name)
        self._entries.append((name, mode, data, rmajor, rminor))

    def dir(self, path: str, mode: int = 0o755) -> None:
        self._add(path, stat.S_IFDIR | (mode & 0o7777))

    def file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self._add(path, stat.S_IFREG | (mode & 0o7777), bytes(data))

    def symlink(self, path: str, target: str) -> None:
        self._add(path, stat.S_IFLNK | 0o777, target.encode())

    def node(self, path: str, kind: str, major: int, minor: int, mode: int = 0o600) -> None:
        """A device node: ``kind`` "c" (character) or "b" (block)."""
        if kind not in ("c", "b"):
            raise ValueError(f"cpio: node kind {kind!r} is not 'c' or 'b'")
        self._add(path, (stat.S_IFCHR if kind == "c" else stat.S_IFBLK) | (mode & 0o7777), b"", major, minor)

    def pack(self) -> bytes:
        out = bytearray()
        for ino, (name, mode, data, rmajor, rminor) in enumerate(self._entries + [(TRAILER, 0, b"", 0, 0)], 1):
            _entry(out, name, ino if name != TRAILER else 0, mode, data, rmajor, rminor)
        return bytes(out)


def _pad4(out: bytearray) -> None:
    out.extend(b"\0" * (-len(out) % 4))


def _entry(out: bytearray, name: str, ino: int, mode: int, data: bytes, rmajor: int, rminor: int) -> None:
    raw = name.encode() + b"\0"
    nlink = 2 if stat.S_ISDIR(mode) else 1 if name != TRAILER else 1
    fields = (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmajor, rminor, len(raw), 0)
    out += MAGIC + b"".join(b"%08X" % f for f in fields) + raw
    _pad4(out)
    out += data
    _pad4(out)
