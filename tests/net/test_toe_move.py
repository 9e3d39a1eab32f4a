"""Moving a TOE session between running tenants (manifests/toe_move.toml, HYP_TOE_MOVE): a's last
session becomes b's next slot. The TOE closes what it carried (a's listener is gone), a loses the
page (reading it is a contained stage-2 violation), b finds the session at its new slot, listens
there and owns its interrupt; the management page says b owns it and streams its DMA, and the
quotas followed."""

from __future__ import annotations

import io

from emu.loader.elf import load_elf
from emu.loader.constants import firmware_constants

C = firmware_constants()


def test_a_toe_session_moves_closed_and_only_its_new_owner_reaches_it(built):
    from emu.machine import Console, Machine

    m = Machine("virt,iommu=smmuv3,toe=on", console=Console(io.BytesIO(), echo=False), log=io.StringIO())
    m.load(load_elf(str(built["toe_move"])))
    result = m.run(max_insns=100_000_000)
    assert result.exit_code == 1 and result.diagnostic is None, result       # a, contained
    lines = m.console.text.splitlines()
    a = [line for line in lines if line.startswith("[a]") or line.startswith("hyp: tenant 1 (a): stage")]
    b = [line for line in lines if line.startswith("[b]")]
    old_page = C["TENANT_TOE_IPA"] + 0x1000      # a's slot 1
    assert a[:3] == ["[a] TOE sessions: 2", "[a] listen on slot 1: error 0, state 1",
                     "[a] slot taken: 1, sessions now 1"]
    assert a[3].startswith(f"hyp: tenant 1 (a): stage-2 violation at IPA {old_page + C['TOE_STATE']:#x} ")
    assert a[3].endswith(": stopped") and len(a) == 4
    assert b == ["[b] TOE sessions: 1", "[b] listen on slot 0: error 0, state 1",
                 "[b] slot granted: 1 holds session 1, state 0",        # closed by the move
                 "[b] listen on slot 1: error 0, state 1",
                 "[b] its SPI enabled in my view: 1"]
    assert "hyp: TOE session 1 moved from tenant 1 (a) to tenant 2 (b)" in lines
    assert "[toemover] TOE sessions of tenants 1 and 2: 1, 2" in lines
    toe = m.devices["toe"]
    page = lambda s, off: toe.read(0x1000 * (1 + s) + off, 4)
    mgmt = lambda off: toe.read(off, 4)
    assert (mgmt(C["TOE_S_OWNER"] + 16), mgmt(C["TOE_S_STREAM"] + 16)) == (3, 3)     # b's tag and stream
    assert page(1, C["TOE_STATE"]) == C["TOE_STATE_LISTENING"] and page(1, C["TOE_ARG0"]) == 7003
    assert mgmt(C["TOE_T_QUOTA"] + 32 * 1) == 1 and mgmt(C["TOE_T_QUOTA"] + 32 * 2) == 2
