"""Boards as data: a memory map and the devices wired into it (one TOML file per board)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..errors import EmuError


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    base: int
    size: int
    access: str = "rwx"

    @property
    def end(self) -> int:
        return self.base + self.size


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    model: str
    base: int
    size: int
    irq: int | None = None
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class InterruptControllerSpec:
    """The GIC: its model and where each of its frames sits (GICD, GICC, GICH, GICV)."""

    model: str
    frames: dict[str, int]
    num_spis: int = 256


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    cpu: str
    cores: int
    memory: dict[str, MemoryRegion]
    devices: list[DeviceSpec]
    interrupt_controller: InterruptControllerSpec | None = None

    @property
    def ram(self) -> MemoryRegion:
        return self.memory["ram"]

    def with_ram_size(self, size: int) -> "Board":
        mem = dict(self.memory)
        mem["ram"] = MemoryRegion("ram", self.ram.base, size, self.ram.access)
        return Board(self.name, self.description, self.cpu, self.cores, mem, self.devices, self.interrupt_controller)


def load_board(name_or_path: str = "virt") -> Board:
    """Load a board by name (``virt``) or from a TOML file path."""
    path = Path(name_or_path)
    try:
        if path.suffix == ".toml" or path.exists():
            text = path.read_text()
        else:
            text = resources.files(__package__).joinpath(f"{name_or_path}.toml").read_text()
    except (OSError, FileNotFoundError):
        raise EmuError(f"unknown board '{name_or_path}'") from None
    try:
        data = tomllib.loads(text)
        memory = {n: MemoryRegion(n, int(m["base"]), int(m["size"]), m.get("access", "rwx"))
                  for n, m in data.get("memory", {}).items()}
        devices = [DeviceSpec(d["name"], d["model"], int(d["base"]), int(d["size"]), d.get("irq"),
                              {k: v for k, v in d.items() if k not in ("name", "model", "base", "size", "irq")})
                   for d in data.get("device", [])]
        if "ram" not in memory:
            raise KeyError("memory.ram")
        ic = data.get("interrupt_controller")
        gic = None
        if ic is not None:
            gic = InterruptControllerSpec(ic["model"], {k: int(v) for k, v in ic["frames"].items()},
                                          int(ic.get("num_spis", 256)))
        return Board(data["name"], data.get("description", ""), data.get("cpu", "cortex-a53"),
                     int(data.get("cores", 1)), memory, devices, gic)
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise EmuError(f"board '{name_or_path}': malformed description ({exc})") from None
