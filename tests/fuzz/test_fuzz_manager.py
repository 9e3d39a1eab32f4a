"""A fixed, seeded slice of the manager fuzz suite (fz_manager.py): a manager throwing random
calls with random arguments at the hypervisor never makes it give up, hang, or show the victim's
memory, and the victim's lines stay its own."""

import fz_manager
import harness


def test_a_fuzzing_manager_never_breaks_the_hypervisor(fuzz_run):
    figs = fuzz_run(fz_manager, seed=0, n=6)
    harness.assert_clean(figs)


def test_a_changed_victim_transcript_is_a_leak(fuzz_run, monkeypatch):
    # The suite must be able to fail: a victim that alone printed other lines.
    setup = fz_manager.setup

    def expect_other_lines(built):
        setup(built)
        fz_manager._victim_lines[:] = [l + " (changed)" for l in fz_manager._victim_lines]

    monkeypatch.setattr(fz_manager, "setup", expect_other_lines)
    figs = fuzz_run(fz_manager, seed=1, n=1)
    assert figs.counts["leak"] == 1
