"""A fixed, seeded slice of the tenant fuzz suite (fz_tenant.py): random hypercalls, SMCs,
semihosting calls and console bytes from one tenant must leave the other's transcript as it is
alone, and never forge a line or end the run unless the user allowed semihosting."""

import fz_tenant
import harness


def test_a_fuzzing_tenant_leaves_its_neighbour_untouched(fuzz_run):
    figs = fuzz_run(fz_tenant, seed=0, n=6)
    harness.assert_clean(figs)


def test_a_changed_victim_transcript_is_a_leak(fuzz_run, monkeypatch):
    # The suite must be able to fail: expect one more victim line than it prints.
    figs = fuzz_run(fz_tenant, seed=1, n=1)
    assert figs.counts["clean"] == 1
    setup = fz_tenant.setup

    def expect_one_line_more(built):
        setup(built)
        fz_tenant._victim_lines.append("[counter] extra")

    monkeypatch.setattr(fz_tenant, "setup", expect_one_line_more)
    figs = fuzz_run(fz_tenant, seed=1, n=1)
    assert figs.counts["leak"] == 1
