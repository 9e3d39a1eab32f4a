"""The build pipeline: aarch64 sources -> Keystone -> ELF64 images, and manifests -> systems.

- :mod:`emu.build.asm`: the assembler front end (includes, errors with file:line, symbols)
- :mod:`emu.build.elf`: the ELF writer
- :mod:`emu.build.constants`: firmware constants read from ``firmware/include/*.inc``
- :mod:`emu.build.manifest`: tenant manifests, the manifest blob, packed system images
- :mod:`emu.build.pipeline`: ``images.toml`` and ``emu build``

Keystone is imported only when something is assembled.
"""
