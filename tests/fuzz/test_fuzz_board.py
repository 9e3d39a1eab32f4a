"""A fixed, seeded slice of the board fuzz suite (fz_board.py): mutated virt boards through emu run."""

import fz_board
import harness


def test_mutated_boards_run_or_fail_with_one_line(tmp_path):
    figs = harness.run_suite(fz_board, seed=0, n=300, tmp=tmp_path)
    harness.assert_clean(figs)
    assert figs.tried == 300


def test_the_writer_round_trips_virt():
    import tomllib

    data = tomllib.loads(fz_board.VIRT.read_text())
    assert tomllib.loads(fz_board.toml_text(data)) == data
