"""The SMMUv3 probes (guest/smmu/) give QEMU's transcript: `-M virt,iommu=smmuv3` there,
`--board virt,iommu=smmuv3` here. They cover what both models have (the registers' handshakes,
the command queue, CMD_SYNC, GERROR); QEMU 7.2 translates stage 1 only and we stage 2 only."""

from __future__ import annotations

import io

import pytest
from conftest import ROOT

from emu.reference import run_qemu

SMMU_PROBES = sorted(p.stem for p in (ROOT / "guest" / "smmu").glob("*.s"))
BOARD = "virt,iommu=smmuv3"


def boot(path, board: str = BOARD):
    from emu.loader.elf import load_elf
    from emu.machine import Console, Machine

    m = Machine(board, console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(load_elf(str(path)))
    return m, m.run(max_insns=5_000_000)


@pytest.mark.qemu
@pytest.mark.parametrize("probe", SMMU_PROBES)
def test_smmu_probe_matches_qemu(qemu, built, probe):
    path = built[f"smmu_{probe}"]
    ref = run_qemu(path, timeout=60, extra=["-M", "iommu=smmuv3"])
    m, result = boot(path)
    assert ref.exit_code == 0, f"QEMU did not finish {path.name}"
    assert b"CMDQ_CONS=0x0000000001000003" in ref.transcript   # the error path was compared too
    assert m.console.transcript.decode() == ref.transcript.decode()
    assert result.exit_code == ref.exit_code


def test_without_the_option_there_is_no_smmu(built):
    # As on QEMU's plain virt: the window is a hole, and the probe's first read of it faults.
    m, result = boot(built["smmu_regs"], "virt")
    assert "CR0ACK=" not in m.console.text and result.exit_code != 0
