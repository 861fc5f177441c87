"""Real Debian packages built with dpkg-deb, as apt-get would have downloaded them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def build_deb(
    root: Path, package: str, music: dict[str, Path], cache: Path, folder: str = "usr/share/games/tune/music"
) -> None:
    """A real .deb of ``package`` with ``music`` (relative name -> source file) under ``folder``, and a copyright
    file."""
    for name, source in music.items():
        (root / folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, root / folder / name)
    doc = root / "usr" / "share" / "doc" / package
    doc.mkdir(parents=True)
    (doc / "copyright").write_text("Files: *\nLicense: GPL-2+\n")
    (root / "DEBIAN").mkdir()
    control = f"Package: {package}\nVersion: 1.0\nArchitecture: all\nMaintainer: x <x@example.org>\nDescription: t\n"
    (root / "DEBIAN" / "control").write_text(control)
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "--build", str(root), str(cache / f"{package}_1.0_all.deb")], check=True)
