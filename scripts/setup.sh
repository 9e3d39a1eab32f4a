#!/usr/bin/env bash
# Installs what emu needs on a fresh Debian/Ubuntu machine: the reference emulator, binutils,
# GCC, dtc and stock U-Boot used by the tests (Debian packages), then the Python package with its test extra.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
need=()
command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
command -v aarch64-linux-gnu-readelf >/dev/null || need+=(binutils-aarch64-linux-gnu)
command -v gdb-multiarch >/dev/null || need+=(gdb-multiarch)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)   # foreign-toolchain test images
command -v dtc >/dev/null || need+=(device-tree-compiler)   # reads the generated device trees in tests
[ -f /usr/lib/u-boot/qemu_arm64/u-boot.bin ] || need+=(u-boot-qemu)   # stock firmware booted in tests/stock
if [ "${#need[@]}" -gt 0 ]; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi
pip_flags=(-q)
if [ "$(id -u)" = 0 ]; then pip_flags+=(--root-user-action=ignore); fi
python3 -m pip install "${pip_flags[@]}" -e '.[test]'
