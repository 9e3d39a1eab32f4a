"""Where the tenants of a packed system image live, read back from its manifest blob.

The build packs a manifest blob at MANIFEST_PA (layout: ``firmware/include/manifest.inc``) and
moves each tenant's image to its physical RAM (emu/build/manifest.py). The runtime only needs
to read that back: to name an EL1 PC by the tenant's own symbols, to say whose RAM an address
is, and to snapshot it. That reading lives here, beside the other loaders, so that the machine
never imports the build.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Mapping

from emu.errors import EmuError
from emu.loader.constants import Constants, firmware_constants
from emu.loader.image import Image, SymbolTable

NAME_FIELD_BYTES = 32  # MT_NAME_SIZE: the name and its NUL padding (manifest.inc, checked when packing)
SPI_FIRST = 32          # MT_SPIS bit n is INTID SPI_FIRST + n ...
SPI_COUNT = 64          # ... for n < 64 (a u64)


@dataclass(frozen=True)
class ToeShare:
    """A tenant's share of the TOE: how many sessions, the ports it may listen on, and where it
    may connect (address 0: nowhere; port 0: any)."""

    sessions: int
    listen: tuple[int, ...] = ()
    connect_addr: int = 0
    connect_port: int = 0


@dataclass
class TenantPlacement:
    """Where one tenant lives: its IPA window ``[ipa, ipa + size)`` backed by ``[pa, pa + size)``.

    ``entry`` is the IPA of its first instruction; ``symbols`` are the tenant image's own
    symbols at IPAs; ``index`` is the tenant ID the hypervisor gives it (MT_ID); ``irqs`` are
    the SPIs it owns (MT_SPIS), in increasing order; ``cores`` the physical core of each of its
    vCPUs (MT_VCPUS, MT_CORES).
    """

    name: str
    index: int
    ipa: int
    pa: int
    size: int
    entry: int
    symbols: dict[str, int] = field(default_factory=dict)
    image: str = ""
    irqs: tuple[int, ...] = ()
    cores: tuple[int, ...] = (0,)  # MT_CORES: the physical core of each vCPU, vCPU 0 first
    toe: "ToeShare | None" = None  # MT_TOE_*: its share of the TCP offload engine
    manager: bool = False          # MT_FLAGS & MTF_MANAGER: it may grant and reclaim memory
    console_input: bool = False    # MT_FLAGS & MTF_CONSOLE_IN: it gets the console's input
    start: bool = True             # not MT_FLAGS & MTF_DEFERRED: it starts at boot

    def ipa_to_pa(self, ipa: int) -> int | None:
        """The physical address behind ``ipa``, or None outside the tenant's window."""
        return self.pa + (ipa - self.ipa) if self.ipa <= ipa < self.ipa + self.size else None

    def pa_to_ipa(self, pa: int) -> int | None:
        return self.ipa + (pa - self.pa) if self.pa <= pa < self.pa + self.size else None

    def symbol_table(self) -> SymbolTable:
        """Symbols at IPAs, to name EL1 PCs of this tenant."""
        return SymbolTable(self.symbols)


def require(c: Mapping[str, int], name: str) -> int:
    if isinstance(c, Constants):
        return c.require(name)
    if name not in c:
        raise EmuError(f"firmware constant {name} is not defined")
    return c[name]


def read_placements(image: Image, constants: Mapping[str, int] | None = None) -> list[TenantPlacement]:
    """Rebuild the tenant placements of a packed system image, e.g. one loaded from its ELF.

    Reads the manifest blob at MANIFEST_PA and regroups the ``tenant:label`` symbols (at
    PAs) into per-tenant symbols at IPAs. Returns [] if the image has no manifest blob.
    """
    c = constants if constants is not None else firmware_constants()
    blob_pa = require(c, "MANIFEST_PA")
    seg = next((s for s in image.segments if s.addr == blob_pa), None)
    if seg is None or len(seg.data) < require(c, "MF_TENANTS"):
        return []
    data = seg.data
    if struct.unpack_from("<Q", data, require(c, "MF_MAGIC"))[0] != require(c, "MANIFEST_MAGIC"):
        return []
    count = struct.unpack_from("<I", data, require(c, "MF_TENANT_COUNT"))[0]
    first, size = require(c, "MF_TENANTS"), require(c, "MF_TENANT_SIZE")
    placements = []
    for i in range(count):
        rec = first + i * size
        if rec + size > len(data):
            break

        def field_(off_name: str, fmt: str = "<Q") -> int:
            return struct.unpack_from(fmt, data, rec + require(c, off_name))[0]

        raw_name = data[rec + require(c, "MT_NAME"):rec + require(c, "MT_NAME") + NAME_FIELD_BYTES]
        spis = field_("MT_SPIS")
        vcpus = min(field_("MT_VCPUS", "<I"), require(c, "MAX_VCPUS"))
        cores_at = rec + require(c, "MT_CORES")
        t = TenantPlacement(name=raw_name.split(b"\0", 1)[0].decode("ascii", "replace"),
                            index=field_("MT_ID", "<I"), ipa=field_("MT_IPA_BASE"), pa=field_("MT_PA_BASE"),
                            size=field_("MT_SIZE"), entry=field_("MT_ENTRY"),
                            irqs=tuple(SPI_FIRST + n for n in range(SPI_COUNT) if spis >> n & 1),
                            cores=tuple(data[cores_at:cores_at + vcpus]))
        t.manager = bool(field_("MT_FLAGS", "<I") & require(c, "MTF_MANAGER"))
        t.console_input = bool(field_("MT_FLAGS", "<I") & require(c, "MTF_CONSOLE_IN"))
        t.start = not field_("MT_FLAGS", "<I") & require(c, "MTF_DEFERRED")
        sessions = field_("MT_TOE_SESSIONS", "<I")
        if sessions:
            ports = field_("MT_TOE_LISTEN", "<I")
            t.toe = ToeShare(sessions, tuple(p for p in (ports & 0xFFFF, ports >> 16) if p),
                             field_("MT_TOE_CONNECT_ADDR", "<I"), field_("MT_TOE_CONNECT_PORT", "<I"))
        prefix = f"{t.name}:"
        t.symbols = {label[len(prefix):]: t.pa_to_ipa(addr) for label, addr in image.symbols.items()
                     if label.startswith(prefix) and t.pa_to_ipa(addr) is not None}
        placements.append(t)
    return placements
