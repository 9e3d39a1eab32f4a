"""Dependencies point one way: the runtime (machine, loaders, devices, debugger, snapshots,
scenarios) imports neither the build, nor the command line, nor pytest."""

import subprocess
import sys

RUNTIME = ["emu.machine", "emu.snapshot", "emu.scenario", "emu.debug.gdbstub", "emu.debug.trace",
           "emu.debug.timeline", "emu.loader.linux", "emu.loader.placements"]


def test_runtime_modules_import_no_build_cli_or_pytest():
    code = (f"import sys\nfor name in {RUNTIME!r}:\n    __import__(name)\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith(('emu.build', 'pytest', '_pytest'))"
            " or m in ('emu.cli', 'emu.pytest_plugin'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_a_packed_system_is_loaded_and_its_tenants_named_without_the_build(built):
    code = ("import sys\nfrom emu.loader.elf import load_elf\nfrom emu.machine import Machine\n"
            f"m = Machine()\nm.load(load_elf({str(built['demo'])!r}))\n"
            "print(len(m.tenants), any(k.startswith('emu.build') for k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    count, imported = out.split()
    assert int(count) >= 2 and imported == "False"
