"""The build pipeline: aarch64 sources -> Keystone -> ELF64 images, and manifests -> systems.

- :mod:`emu.build.asm`: the assembler front end (includes, errors with file:line, symbols)
- :mod:`emu.build.elf`: the ELF writer
- :mod:`emu.build.manifest`: tenant manifests, the manifest blob, packed system images
- :mod:`emu.build.pipeline`: ``images.toml`` and ``emu build``

Firmware constants (``firmware/include/*.inc``) and the reading of a packed image's manifest
blob are the loader's (:mod:`emu.loader.constants`, :mod:`emu.loader.placements`): the
runtime needs them and never imports the build.

Keystone is imported only when something is assembled.
"""
