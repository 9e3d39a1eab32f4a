"""Software page-table walks (stage 1 and stage 2, 4 KiB granule) over tables built in a dict."""

from __future__ import annotations

from emu.cpu.mmu import walk_stage1, walk_stage2

VALID, TABLE, PAGE, AF = 1, 2, 2, 1 << 10


def tables(entries: dict[int, int]):
    return lambda addr: entries.get(addr, 0)


def test_stage1_ttbr0_4k_page_through_three_levels():
    # TCR.T0SZ = 25 (39-bit VA): the walk starts at level 1.
    l1, l2, l3 = 0x1000, 0x2000, 0x3000
    va = 0x0000_0040_2012_3456
    mem = {
        l1 + 8 * ((va >> 30) & 0x1FF): l2 | TABLE | VALID,
        l2 + 8 * ((va >> 21) & 0x1FF): l3 | TABLE | VALID,
        l3 + 8 * ((va >> 12) & 0x1FF): 0x8765_4000 | AF | PAGE | VALID,
    }
    w = walk_stage1(va, 25, l1, 0, tables(mem))
    assert w.pa == 0x8765_4456 and [s.level for s in w.steps] == [1, 2, 3]


def test_stage1_ttbr1_selects_the_upper_range_with_t1sz_and_tg1():
    tcr = 25 | (16 << 16) | (2 << 30)      # T0SZ 25, T1SZ 16 (48-bit upper), TG1 = 4 KiB
    root = 0x5000
    va = 0xFFFF_8000_0000_1000
    mem = {root + 8 * ((va >> 39) & 0x1FF): 0x6000 | TABLE | VALID,
           0x6000 + 8 * ((va >> 30) & 0x1FF): 0x4000_0000 | AF | VALID}   # 1 GiB block at level 1
    w = walk_stage1(va, tcr, 0, root, tables(mem))
    assert w.pa == 0x4000_1000 and w.steps[-1].kind == "block"


def test_stage1_reports_a_translation_fault_and_an_out_of_range_va():
    w = walk_stage1(0x1000, 25, 0x1000, 0, tables({}))
    assert w.pa is None and w.fault == "translation fault, level 1"
    w = walk_stage1(0x0100_0000_0000_0000, 25, 0x1000, 0, tables({}))
    assert w.pa is None and "range" in w.fault


def test_stage1_tables_are_read_through_stage2():
    # The stage-1 table sits at IPA 0x1000, which stage 2 puts at PA 0x9000.
    va = 0x4000_0000
    mem = {0x9000 + 8 * ((va >> 30) & 0x1FF): 0x4000_0000 | AF | VALID}
    w = walk_stage1(va, 25, 0x1000, 0, tables(mem), table_pa=lambda ipa: ipa + 0x8000)
    assert w.pa == 0x4000_0000


def test_stage2_level1_block():
    vtcr = (1 << 6) | 32                   # SL0 = level 1, T0SZ = 32
    mem = {0x7000 + 8 * 1: 0x8000_0000 | AF | VALID}
    w = walk_stage2(0x7000, vtcr, 0x4000_1234, tables(mem))
    assert w.pa == 0x8000_1234
