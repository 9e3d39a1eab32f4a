"""Debian's arm64 kernel and busybox-static, fetched with a private apt set-up, and an
initramfs that boots busybox on the console: what tests/stock/test_linux.py and
``emu bench --cases linux`` boot.

``apt-get`` runs with its own sources list (the Debian entries of the host's, with
``Architectures: arm64``), its own state, cache and lists directories under the cache
directory, and APT::Architecture=arm64, so the host's /var/lib/apt, /var/cache/apt and
/etc/apt are only read (apt.conf.d for proxies and the like, the keyrings the sources name).
``apt-get download`` needs no root; the packages are unpacked without dpkg's database
(``dpkg-deb --fsys-tarfile``), keeping only the files the tests boot. What is unpacked stays in
the cache, so later runs fetch nothing.

Any failure is a :class:`Unavailable` whose message says what is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("EMU_DEBIAN_ARM64_CACHE", Path.home() / ".cache" / "emu" / "debian-arm64"))
KERNEL_META = "linux-image-arm64"      # depends on the current linux-image-<version>-arm64
BUSYBOX = "busybox-static"


class Unavailable(Exception):
    """The packages cannot be had here; the message says why."""


@dataclass(frozen=True)
class Packages:
    kernel: Path        # vmlinuz: an uncompressed arm64 Image with an EFI "MZ" header
    kernel_version: str  # 6.1.0-NN-arm64 (uname -r)
    busybox: Path       # statically linked arm64 busybox


def _stanzas(text: str) -> list[dict[str, str]]:
    """deb822 paragraphs (sources.list.d/*.sources) as field -> value; comments dropped."""
    out, cur, key = [], {}, None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                out.append(cur)
            cur, key = {}, None
        elif line[0] in " \t" and key:
            cur[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            cur[key] = value.strip()
    if cur:
        out.append(cur)
    return out


def debian_sources(etc: Path = Path("/etc/apt")) -> list[tuple[str, str, str, str]]:
    """The host's Debian archive entries as (uri, suite, components, signed-by), in the
    order the host lists them: deb822 files and one-line sources.list files alike. An entry is
    Debian's when its URI is on debian.org or it is signed by Debian's archive keyring."""
    found: list[tuple[str, str, str, str]] = []

    def keep(uri: str, suite: str, comps: str, signed: str) -> None:
        if "debian.org" in uri or "debian-archive-keyring" in signed:
            found.append((uri, suite, comps, signed))

    files = [etc / "sources.list"] + sorted((etc / "sources.list.d").glob("*"))
    for f in files:
        if not f.is_file():
            continue
        text = f.read_text(errors="replace")
        if f.name.endswith(".sources"):
            for st in _stanzas(text):
                if "deb" not in st.get("types", "").split() or st.get("enabled", "yes").lower() == "no":
                    continue
                for uri in st.get("uris", "").split():
                    for suite in st.get("suites", "").split():
                        keep(uri, suite, st.get("components", "main"), st.get("signed-by", ""))
        elif f.name.endswith(".list"):
            for line in text.splitlines():
                m = re.match(r"\s*deb\s+(?:\[([^]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)", line)
                if m:
                    opts = dict(o.split("=", 1) for o in (m.group(1) or "").split() if "=" in o)
                    keep(m.group(2), m.group(3), m.group(4) or "main", opts.get("signed-by", ""))
    return found


class PrivateApt:
    """``apt-get``/``apt-cache`` for arm64 with every directory apt writes under ``root``."""

    def __init__(self, root: Path, etc: Path = Path("/etc/apt")):
        self.root = root
        sources = debian_sources(etc)
        if not sources:
            raise Unavailable(f"no Debian archive in {etc}/sources.list*: Debian's arm64 packages come from it")
        if not shutil.which("apt-get"):
            raise Unavailable("apt-get not found: Debian's arm64 packages are fetched with it")
        for d in ("state/lists/partial", "cache/archives/partial", "sources.list.d", "preferences.d"):
            (root / d).mkdir(parents=True, exist_ok=True)
        (root / "state" / "status").touch()
        lines = []
        for uri, suite, comps, signed in sources:
            lines.append("Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\nArchitectures: arm64\n%s"
                         % (uri, suite, comps, f"Signed-By: {signed}\n" if signed else ""))
        (root / "sources.list.d" / "debian-arm64.sources").write_text("\n".join(lines))
        self.options = [
            "-o", "APT::Architecture=arm64", "-o", "APT::Architectures=arm64",
            "-o", f"Dir::State={root / 'state'}", "-o", f"Dir::State::status={root / 'state' / 'status'}",
            "-o", f"Dir::Cache={root / 'cache'}",
            "-o", "Dir::Etc::SourceList=/dev/null", "-o", f"Dir::Etc::SourceParts={root / 'sources.list.d'}",
            "-o", "Dir::Etc::Preferences=/dev/null", "-o", f"Dir::Etc::PreferencesParts={root / 'preferences.d'}",
            "-o", "Debug::NoLocking=1",
            # as root apt downloads as _apt, which may not write here; download as ourselves
            "-o", "APT::Sandbox::User=" + _user(),
        ]

    def run(self, tool: str, *args: str, cwd: Path | None = None) -> str:
        p = subprocess.run([tool, *self.options, *args], cwd=cwd, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=600)
        if p.returncode != 0:
            raise Unavailable(f"{tool} {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()[-2000:]}")
        return p.stdout

    def update(self) -> None:
        self.run("apt-get", "-q", "update")

    def depends(self, package: str) -> list[str]:
        out = self.run("apt-cache", "depends", package)
        return re.findall(r"^\s*\|?Depends: (\S+)", out, re.M)

    def download(self, package: str, into: Path) -> Path:
        into.mkdir(parents=True, exist_ok=True)
        for old in into.glob(f"{package}_*.deb"):
            old.unlink()
        self.run("apt-get", "-q", "download", package, cwd=into)
        debs = sorted(into.glob(f"{package}_*.deb"))
        if not debs:
            raise Unavailable(f"apt-get download {package}: no .deb")
        return debs[-1]


def _user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def extract(deb: Path, member: str, dest: Path) -> Path:
    """One file from a .deb's data (``./boot/vmlinuz-...``), unpacked without root."""
    p = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=False)
    if p.returncode != 0:
        raise Unavailable(f"dpkg-deb --fsys-tarfile {deb.name}: {p.stderr.decode(errors='replace').strip()}")
    import io

    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as tar:
        names = {n.lstrip("."): n for n in tar.getnames()}
        info = tar.getmember(names[member]) if member in names else None
        if info is None or not info.isfile():
            raise Unavailable(f"{deb.name} has no file {member}")
        data = tar.extractfile(info).read()
    tmp = dest.with_suffix(dest.suffix + ".part")
    tmp.write_bytes(data)
    tmp.chmod(0o755 if info.mode & 0o111 else 0o644)
    tmp.replace(dest)
    return dest


def fetch(cache: Path = CACHE) -> Packages:
    """Debian's current arm64 kernel (the one ``linux-image-arm64`` depends on) and busybox,
    unpacked under ``cache``. A second call finds them there and fetches nothing."""
    done = cache / "packages.txt"
    if done.is_file():
        fields = dict(ln.split("=", 1) for ln in done.read_text().splitlines() if "=" in ln)
        pk = Packages(cache / fields.get("kernel", "-"), fields.get("kernel_version", ""),
                      cache / fields.get("busybox", "-"))
        if pk.kernel.is_file() and pk.busybox.is_file():
            return pk
    apt = PrivateApt(cache / "apt")
    apt.update()
    kernels = [d for d in apt.depends(KERNEL_META) if re.fullmatch(r"linux-image-.*-arm64", d)]
    if not kernels:
        raise Unavailable(f"{KERNEL_META} names no linux-image-*-arm64 package")
    kpkg = kernels[0]
    version = kpkg[len("linux-image-"):]
    debs = cache / "debs"
    kernel = extract(apt.download(kpkg, debs), f"/boot/vmlinuz-{version}", cache / f"vmlinuz-{version}")
    busybox = extract(apt.download(BUSYBOX, debs), "/bin/busybox", cache / "busybox")
    shutil.rmtree(debs, ignore_errors=True)          # tens of MB of modules: keep only what boots
    done.write_text(f"kernel={kernel.name}\nkernel_version={version}\nbusybox={busybox.name}\n")
    return Packages(kernel, version, busybox)


# What the shell uses: busybox runs the applet its link is named after.
APPLETS = ["sh", "mount", "uname", "cat", "echo", "poweroff", "mkdir", "ls"]
MARKER = "emu-init: userspace up"
PROMPT = "emu-linux# "

INIT = f"""#!/bin/busybox sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "{MARKER}"
export PS1='{PROMPT}'
exec sh
"""
# The benchmark's /init: up, then off at once.
POWEROFF_INIT = f"""#!/bin/busybox sh
echo "{MARKER}"
poweroff -f
"""


def initramfs(busybox: Path, init: str = INIT) -> bytes:
    """A cpio archive with busybox, its applet links, /dev/console and ``init`` as /init: by
    default it mounts /proc and /sys, prints MARKER and runs a shell on the console prompting
    PROMPT."""
    from .loader.cpio import Cpio

    c = Cpio()
    for d in ("bin", "dev", "proc", "sys"):
        c.dir(d)
    c.node("dev/console", "c", 5, 1)
    c.file("bin/busybox", busybox.read_bytes(), 0o755)
    for a in APPLETS:
        c.symlink(f"bin/{a}", "busybox")
    c.file("init", init.encode(), 0o755)
    return c.pack()


if __name__ == "__main__":
    print(fetch())
