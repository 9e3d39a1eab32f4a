"""A fixed, seeded slice of the ELF fuzz suite (fz_elf.py): mutated real images through emu run."""

import fz_elf
import harness


def test_mutated_images_run_or_fail_with_one_line(built, tmp_path):
    fz_elf.use_built(built)
    figs = harness.run_suite(fz_elf, seed=0, n=200, tmp=tmp_path)
    harness.assert_clean(figs)
    assert figs.tried == 200
