"""A fixed, seeded slice of the snapshot fuzz suite (fz_snapshot.py): real snapshots, mutated,
through emu run --restore."""

import fz_snapshot
import harness


def test_mutated_snapshots_restore_or_fail_with_one_line(built, tmp_path):
    fz_snapshot.setup(built)
    figs = harness.run_suite(fz_snapshot, seed=0, n=40, tmp=tmp_path)
    harness.assert_clean(figs)
    assert figs.tried == 40
