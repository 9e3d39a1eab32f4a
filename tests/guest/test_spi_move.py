"""Moving an interrupt between running tenants (manifests/spi_move.toml, HYP_SPI_MOVE): SPI 48 is
first's by its manifest; after the manager moves it to second, first can no longer raise it (its
GICD writes are ignored and reported) and second enables, raises and takes it. The UART's SPI is
not a tenant's to move."""

from __future__ import annotations

import io

from emu.loader.elf import load_elf


def test_an_spi_moves_and_only_its_owner_raises_and_takes_it(built):
    from emu.machine import Console, Machine

    m = Machine(console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(load_elf(str(built["spi_move"])))
    result = m.run(max_insns=100_000_000)
    assert result.exit_code == 0 and result.diagnostic is None, result
    lines = m.console.text.splitlines()
    ignored = lambda n, name: f"hyp: tenant {n} ({name}): GICD write to INTID 48 it does not own: ignored"
    first = [line for line in lines if line.startswith("[first]") or "(first):" in line]
    second = [line for line in lines if line.startswith("[second]") or "(second):" in line]
    assert first[1:] == ["[first] SPI 48 taken so far: 1",                 # its own
                         "[first] SPI 48 is no longer mine",
                         *[ignored(1, "first")] * 3,                         # priority, enable, pend
                         "[first] SPI 48 taken so far: 1",                 # nothing more
                         "hyp: tenant 1 (first): system off"]
    assert second[1:] == [*[ignored(2, "second")] * 3,
                          "[second] SPI 48 taken so far: 0",               # not yet its
                          "[second] SPI 48 is mine now",
                          "[second] SPI 48 taken so far: 1",
                          "hyp: tenant 2 (second): system off"]
    assert "hyp: SPI 48 moved from tenant 1 (first) to tenant 2 (second)" in lines
    assert "[mover] move SPI 48 to tenant 2: 0, move SPI 33: -2" in lines
    assert "[mover] tenant 2's SPIs: 0x10000" in lines                      # bit 16: INTID 48
