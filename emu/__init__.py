"""An AArch64 full-system emulator for hypervisor and firmware developers, built on Unicorn."""
