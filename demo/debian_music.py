"""Real recorded music from Debian packages (free licences), for the demo catalogue."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from soundalike.ingest.errors import ConfigError

DEMO_PACKAGES = ("wesnoth-1.16-music", "hedgewars-data")
MUSIC_SUFFIXES = (".ogg", ".mp3", ".opus")
"""What counts as music in a package (asc-music ships .mp3, warzone2100-music .opus, the others .ogg)."""
_TIMEOUT_S = 900


def _run(args: list[str], cwd: Path) -> None:
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    except FileNotFoundError as exc:
        raise ConfigError(f"{args[0]} is not installed (a Debian system is needed, or pass --music DIR)") from exc
    if done.returncode != 0:
        raise ConfigError(f"`{' '.join(args)}` failed: {done.stderr.strip()[-400:]} (try `apt-get update`)")


@contextmanager
def unpacked_package(package: str, cache: Path) -> Iterator[Path]:
    """The files of ``package`` (its .deb downloaded into ``cache`` with apt-get unless already there), unpacked
    into a folder under ``cache`` that is removed afterwards."""
    cache = cache.absolute()  # the tools run inside ``cache``
    cache.mkdir(parents=True, exist_ok=True)
    if not list(cache.glob(f"{package}_*.deb")):
        _run(["apt-get", "download", package], cwd=cache)
    deb = sorted(cache.glob(f"{package}_*.deb"))[-1]
    unpacked = cache / f"{package}-unpacked"
    _run(["dpkg-deb", "-x", str(deb), str(unpacked)], cwd=cache)
    try:
        yield unpacked
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)


def copy_copyright(package: str, unpacked: Path, target: Path) -> None:
    """The package's copyright file, beside its music as ``COPYRIGHT``."""
    copyright_file = unpacked / "usr" / "share" / "doc" / package / "copyright"
    if copyright_file.exists():
        shutil.copy2(copyright_file, target / "COPYRIGHT")


def fetch_package_music(package: str, cache: Path, dest: Path) -> list[Path]:
    """Download ``package`` with apt-get, extract its music (``MUSIC_SUFFIXES``) into ``dest`` with its copyright
    file.

    Already-extracted packages are reused. Returns the music files.
    """
    target = dest.absolute() / package
    if target.is_dir() and (extracted := music_in(target)):
        return extracted
    with unpacked_package(package, cache) as unpacked:
        target.mkdir(parents=True, exist_ok=True)
        music = [p for p in unpacked.rglob("*") if p.suffix in MUSIC_SUFFIXES and "music" in str(p.parent).lower()]
        for path in music:
            shutil.copy2(path, target / path.name)
        copy_copyright(package, unpacked, target)
    return music_in(target)


def music_in(folder: Path) -> list[Path]:
    """The music files (``MUSIC_SUFFIXES``) in ``folder``, sorted."""
    return sorted(p for p in folder.iterdir() if p.suffix in MUSIC_SUFFIXES)
