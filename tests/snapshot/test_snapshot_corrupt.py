"""A snapshot file is input: wrong types, wrong sizes, truncation, damage and endless files are
refused with one line before anything of them reaches the machine."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from emu import snapshot
from emu.loader.elf import load_elf
from emu.machine import Console, Machine

ROOT = Path(__file__).resolve().parents[2]   # the checkout


def fresh(**kw) -> Machine:
    return Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO(), **kw)


@pytest.fixture(scope="module")
def snap(built, tmp_path_factory) -> bytes:
    """A real snapshot: the single-tenant system after 5000 instructions."""
    m = fresh()
    m.load(load_elf(str(built["solo"])))
    assert m.run(max_insns=5000, pause_at_limit=True).paused
    path = tmp_path_factory.mktemp("snap") / "solo.snap"
    snapshot.save(m, str(path))
    return path.read_bytes()


def split(data: bytes) -> tuple[dict, bytes]:
    """(header, chunk bytes) of a well-formed snapshot."""
    (n,) = struct.unpack_from("<I", data, 8)
    return json.loads(data[12:12 + n]), data[12 + n:-20]


def build(header_blob: bytes, chunks: bytes, count: int | None = None) -> bytes:
    """A snapshot with a correct trailer around any header and chunks (so the checks behind
    the checksum are reached)."""
    body = snapshot.MAGIC + struct.pack("<I", len(header_blob)) + header_blob + chunks
    if count is None:
        count = _count_chunks(chunks)
    return body + struct.pack("<8sQI", snapshot.END, count, zlib.crc32(body))


def _count_chunks(chunks: bytes) -> int:
    pos = n = 0
    while pos + 12 <= len(chunks):
        _addr, length = struct.unpack_from("<QI", chunks, pos)
        pos += 12 + length
        n += 1
    return n


def chunk(addr: int, z: bytes) -> bytes:
    return struct.pack("<QI", addr, len(z)) + z


def with_header(data: bytes, change) -> bytes:
    header, chunks = split(data)
    change(header)
    return build(json.dumps(header).encode(), chunks)


def refused(tmp_path, data: bytes, match: str, machine: Machine | None = None) -> Machine:
    path = tmp_path / "bad.snap"
    path.write_bytes(data)
    m = machine or fresh()
    with pytest.raises(snapshot.SnapshotError, match=match):
        snapshot.restore(m, str(path))
    return m


def test_the_unchanged_snapshot_restores(snap, tmp_path):
    path = tmp_path / "good.snap"
    path.write_bytes(snap)
    m = fresh()
    snapshot.restore(m, str(path))
    assert m.run().exit_code == 0
    assert b"all tenants stopped" in m.console.transcript


@pytest.mark.parametrize("change, match", [
    (lambda h: h.__setitem__("devices", [h["devices"]["uart0"]]), r"devices: expected an object, found a list"),
    (lambda h: h["devices"].__setitem__("uart0", "on"), r"devices\.uart0: expected an object, found a string"),
    (lambda h: h.__setitem__("cpu", []), r"cpu: expected a list of 1 core"),
    (lambda h: h["cpu"][0].__setitem__("pc", "0x40000000"), r"cpu\[0\]\.pc: expected an unsigned integer"),
    (lambda h: h["cpu"][0].__setitem__("x3", -1), r"cpu\[0\]\.x3: -1 is out of range"),
    (lambda h: h["cpu"][0].__setitem__("x3", 1 << 64), r"cpu\[0\]\.x3: .* is out of range"),
    (lambda h: h["cpu"][0]["q"].pop(), r"cpu\[0\]\.q: 31 entries, this machine has 32"),
    (lambda h: h["cpu"][0]["sysregs"].__setitem__("NOT_A_REG", 1), r"sysregs: unexpected NOT_A_REG"),
    (lambda h: h["cpu"][0]["sysregs"].pop("VBAR_EL2"), r"sysregs: missing VBAR_EL2"),
    (lambda h: h["devices"]["uart0"]["regs"].__setitem__("CR", True), r"uart0\.regs\.CR: expected an unsigned integer, found true/false"),
    (lambda h: h["devices"]["uart0"].__setitem__("rx_fifo", [0] * 100000), r"rx_fifo: 100000 entries"),
    (lambda h: h["devices"]["uart0"].__setitem__("rx_queue", [104, 105]), r"uart0\.rx_queue: expected a string, found a list"),
    (lambda h: h["devices"]["uart0"].__setitem__("rx_queue", "hi there"), r"uart0\.rx_queue: not base64"),
    (lambda h: h["gic"]["gicd"].__setitem__("spi_priority", [0] * 3), r"gic\.gicd\.spi_priority: 3 entries"),
    (lambda h: h["gic"]["gicd"].__setitem__("spi_enabled", 1 << 400), r"gic\.gicd\.spi_enabled: .* out of range"),
    (lambda h: h.__setitem__("gic", None), r"gic: expected an object, found null"),
    (lambda h: h["timer"]["timers"].pop("CNTV"), r"timer\.timers: missing CNTV"),
    (lambda h: h.pop("time"), r"header: missing time"),
    (lambda h: h["time"].__setitem__("retired", -1), r"time\.retired: -1 is out of range"),
    (lambda h: h["time"].__setitem__("retired", 1 << 62), r"time\.retired: .* is out of range"),
    (lambda h: h["time"].__setitem__("counter", 0), r"time\.counter: 0 is behind"),
    (lambda h: h["time"].__setitem__("mode", "fast"), r"time\.mode: 'fast' is not one of"),
    (lambda h: h.__setitem__("ram", {"base": 0x40000000, "size": 1 << 20}), r"not on this machine"),
    (lambda h: h.__setitem__("board", ["virt"]), r"taken on board a list"),
    (lambda h: h["tenants"][0].__setitem__("ipa", "x"), r"tenants\[0\]\.ipa: expected an unsigned integer"),
    (lambda h: h["tenants"][0].__setitem__("evil", 1), r"tenants\[0\]: unexpected evil"),
    (lambda h: h["symbols"].__setitem__("main", 1.5), r"symbols\.main: expected an unsigned integer, found a fractional"),
    (lambda h: h.__setitem__("extra", {}), r"header: unexpected extra"),
])
def test_wrong_types_and_sizes_in_the_header_are_refused(snap, tmp_path, change, match):
    refused(tmp_path, with_header(snap, change), match)


def test_the_file_never_chooses_attribute_names_on_the_cpu(snap, tmp_path):
    # Version 1 set every cpu_lines key as an attribute of the Cpu: 'uc' replaced its Unicorn.
    def attack(h):
        h["cpu_lines"]["uc"] = 1
        h["cpu_lines"]["reg_read"] = 2

    m = refused(tmp_path, with_header(snap, attack), r"cpu_lines: unexpected reg_read, uc")
    assert m.cpu.uc is m.uc
    m2 = refused(tmp_path, with_header(snap, lambda h: h["cpu_lines"].__setitem__("irq", 1)),
                 r"cpu_lines\.irq: expected true/false")
    assert m2.cpu.interrupt_pending is False


def test_a_header_nested_thousands_deep_is_refused(snap, tmp_path):
    _header, chunks = split(snap)
    refused(tmp_path, build(b"[" * 100_000 + b"]" * 100_000, chunks), r"nested too deeply")
    deep = b'{"version": 2, "devices": ' + b"[" * 500 + b"]" * 500 + b"}"
    refused(tmp_path, build(deep, chunks), r"header: missing")


@pytest.mark.parametrize("where", ["header", "chunk header", "chunk data", "trailer"])
def test_a_snapshot_cut_anywhere_is_refused(snap, tmp_path, where):
    (n,) = struct.unpack_from("<I", snap, 8)
    first_chunk = 12 + n
    (_addr, length) = struct.unpack_from("<QI", snap, first_chunk)
    cut = {"header": 12 + n // 2, "chunk header": first_chunk + 6,
           "chunk data": first_chunk + 12 + length // 2, "trailer": len(snap) - 3}[where]
    refused(tmp_path, snap[:cut], r"corrupt snapshot")


def test_a_snapshot_cut_at_every_chunk_boundary_is_refused(snap, tmp_path):
    # Version 1 took a file cut between two chunks as whole, with the rest of RAM zero.
    (n,) = struct.unpack_from("<I", snap, 8)
    pos, boundaries = 12 + n, []
    while pos < len(snap) - 20:
        boundaries.append(pos)
        pos += 12 + struct.unpack_from("<QI", snap, pos)[1]
    assert len(boundaries) > 2
    for cut in boundaries + [len(snap) - 20]:
        refused(tmp_path, snap[:cut], r"corrupt snapshot: truncated")


def test_a_flipped_bit_is_caught_by_the_checksum(snap, tmp_path):
    (n,) = struct.unpack_from("<I", snap, 8)
    for pos in (12 + n + 3, 12 + n + 40, len(snap) - 25):
        bad = bytearray(snap)
        bad[pos] ^= 0x10
        refused(tmp_path, bytes(bad), r"checksum mismatch")


@pytest.mark.parametrize("mangle, match", [
    (lambda c: chunk(0x40000000 + 5, zlib.compress(bytes(8))), r"not a 64 KiB chunk of RAM"),
    (lambda c: chunk(0x10000000, zlib.compress(bytes(8))), r"not a 64 KiB chunk of RAM"),
    (lambda c: c + c, r"out of order or repeated"),
    (lambda c: struct.pack("<QI", 0x40000000, 0xFFFFFFFF) + b"x", r"runs past the end"),
    (lambda c: chunk(0x40000000, b"not zlib!!"), r"does not inflate"),
    (lambda c: chunk(0x40000000, zlib.compress(bytes(1 << 20))), r"does not inflate to exactly 65536"),
    (lambda c: chunk(0x40000000, zlib.compress(bytes(100))), r"does not inflate to exactly 65536"),
    (lambda c: chunk(0x40000000, zlib.compress(bytes(1 << 16)) + b"junk"), r"does not inflate to exactly 65536"),
])
def test_bad_chunks_are_refused(snap, tmp_path, mangle, match):
    header, chunks = split(snap)
    refused(tmp_path, build(json.dumps(header).encode(), mangle(chunks)), match)


def test_a_wrong_chunk_count_in_the_trailer_is_refused(snap, tmp_path):
    header, chunks = split(snap)
    refused(tmp_path, build(json.dumps(header).encode(), chunks, count=_count_chunks(chunks) + 1),
            r"the trailer says")


def test_a_header_length_over_the_limit_is_refused_without_reading_it(tmp_path):
    data = snapshot.MAGIC + struct.pack("<I", snapshot.MAX_HEADER + 1) + b"{}"
    refused(tmp_path, data, r"corrupt snapshot header \(length")


def test_a_file_larger_than_any_snapshot_of_this_ram_is_refused_unread(tmp_path):
    m = fresh(ram_size=1 << 20)
    path = tmp_path / "huge.snap"
    with open(path, "wb") as f:
        f.write(snapshot.MAGIC)
        f.truncate(snapshot.max_file_size(1 << 20) + 1)   # sparse: nothing to read
    with pytest.raises(snapshot.SnapshotError, match=r"more than a snapshot of this machine's RAM can be"):
        snapshot.restore(m, str(path))


@pytest.mark.parametrize("source", ["/dev/zero", "fifo", "directory"])
def test_files_that_could_be_read_for_ever_are_refused(tmp_path, source):
    path = {"/dev/zero": "/dev/zero", "fifo": str(tmp_path / "p"), "directory": str(tmp_path)}[source]
    if source == "fifo":
        os.mkfifo(path)   # no writer: opening it for reading must not wait for one
    with pytest.raises(snapshot.SnapshotError, match=r"not a regular file"):
        snapshot.restore(fresh(), path)


def emu_restore(path, *extra):
    return subprocess.run([sys.executable, "-m", "emu", "run", "--restore", str(path), "--max-insns", "200000", *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("case", ["retired -1", "devices list", "cpu_lines attribute", "chunk boundary", "/dev/zero"])
def test_bad_snapshots_through_the_cli_give_one_line_and_exit_2(snap, tmp_path, case):
    header, chunks = split(snap)
    path = tmp_path / "bad.snap"
    if case == "retired -1":
        path.write_bytes(with_header(snap, lambda h: h["time"].__setitem__("retired", -1)))
    elif case == "devices list":
        path.write_bytes(with_header(snap, lambda h: h.__setitem__("devices", [])))
    elif case == "cpu_lines attribute":
        path.write_bytes(with_header(snap, lambda h: h["cpu_lines"].__setitem__("uc", 0)))
    elif case == "chunk boundary":
        path.write_bytes(snap[:len(snap) - 20])
    else:
        path = "/dev/zero"
    p = emu_restore(path)
    assert p.returncode == 2, p.stderr
    lines = [l for l in p.stderr.splitlines() if l.strip() and not l.startswith("emu: deterministic")]
    assert len(lines) == 1 and lines[0].startswith("emu: ") and "Traceback" not in p.stderr, p.stderr


def test_a_failed_save_leaves_the_earlier_snapshot(snap, built, tmp_path):
    path = tmp_path / "keep.snap"
    path.write_bytes(snap)
    m = fresh()
    m.load(load_elf(str(built["solo"])))
    m.run(max_insns=1000, pause_at_limit=True)
    m.symbols_dict = lambda: {f"s{i}": i for i in range(1_000_000)}   # a header over MAX_HEADER
    with pytest.raises(snapshot.SnapshotError, match="over the"):
        snapshot.save(m, str(path))
    assert path.read_bytes() == snap
    assert [p.name for p in tmp_path.iterdir()] == ["keep.snap"]
