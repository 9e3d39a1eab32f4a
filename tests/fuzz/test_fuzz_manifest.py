"""A fixed, seeded slice of the manifest fuzz suite (fz_manifest.py): mutated shipped manifests
through emu build, and what the build accepts booted on the hypervisor."""

import fz_manifest
import harness


def test_mutated_manifests_build_or_fail_with_one_line(tmp_path):
    figs = harness.run_suite(fz_manifest, seed=0, n=200, tmp=tmp_path)
    harness.assert_clean(figs)
    assert figs.tried == 200


def test_a_system_with_a_forged_name_counts_as_a_leak(built, tmp_path):
    # The leak check can fail: patch a packed blob's tenant name into one that forges a tag.
    from emu.build.elf import write_elf
    from emu.build.manifest import pack_system
    from emu.loader.elf import load_elf

    system = pack_system(load_elf(built["hyp"]), [("hyp_x", load_elf(built["hello"]), 0x200000, None)])
    for i, seg in enumerate(system.segments):
        if b"hyp_x\0" in seg.data:
            system.segments[i] = seg.__class__(seg.addr, seg.data.replace(b"hyp_x\0", b"hyp]x\0"), seg.memsz, seg.flags)
    problem = fz_manifest._accepted_breaks_isolation(write_elf(system, tmp_path / "forged.elf"))
    assert problem == "tenant name 'hyp]x' can forge a console tag"
