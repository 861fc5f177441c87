"""More real recordings for training the distilled student: Debian packages outside the quality benchmark.

Each package keeps its music somewhere of its own (inside a zip archive, one folder per song, beside sound
effects), so each has a rule: a glob under the unpacked package (``archive!member-glob`` reads the members of a
zip archive), the smallest file kept (short stingers and loops are left out) and how a file is named. The
recordings land in ``DEST/<package>/`` with the package's copyright file, ready for ``soundalike train distil``.
Usage::

    .venv/bin/python bench/training_music.py ~/.cache/soundalike-bench/extra
"""

from __future__ import annotations

import argparse
import fnmatch
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from soundalike.demo.debian_music import copy_copyright, music_in, unpacked_package

DEFAULT_DEBS = Path.home() / ".cache" / "soundalike-bench" / "debs"


@dataclass(frozen=True)
class Rule:
    """Where a package keeps its music and which files of it count."""

    pattern: str
    min_bytes: int = 700_000
    name_by_folder: bool = False
    """Name each file after its folder (one folder per song, every file called the same)."""


TRAINING_PACKAGES: dict[str, Rule] = {
    "nexuiz-music": Rule("usr/share/games/nexuiz/data/music.pk3!sound/cdtracks/*.ogg"),
    "fretsonfire-songs-muldjord": Rule("usr/share/games/fretsonfire/data/songs/*/*/song.ogg", name_by_folder=True),
    "fretsonfire-songs-sectoid": Rule("usr/share/games/fretsonfire/data/songs/*/*/song.ogg", name_by_folder=True),
    "btanks-data": Rule("usr/share/games/btanks/data/tunes/*.ogg", min_bytes=0),
    "extremetuxracer-data": Rule("usr/share/games/etr/music/*.ogg"),
    "xmoto-data": Rule("usr/share/games/xmoto/Textures/Musics/*.ogg"),
    "unknown-horizons": Rule("usr/share/unknown-horizons/content/audio/music/**/*.ogg"),
    "freecol": Rule("usr/share/games/freecol/default/resources/music/**/*.ogg"),
}
"""Packages with music that no quality benchmark row reads (so none is ever both trained on and scored)."""


def _file_name(path: str, rule: Rule) -> str:
    parts = path.split("/")
    return f"{parts[-2].replace(' ', '_')}{Path(parts[-1]).suffix}" if rule.name_by_folder else parts[-1]


def extract(unpacked: Path, rule: Rule, target: Path) -> list[Path]:
    """Copy the files ``rule`` selects from an unpacked package into ``target``; returns them."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    archive, _, member_glob = rule.pattern.partition("!")
    if member_glob:
        with zipfile.ZipFile(unpacked / archive) as pack:
            for info in pack.infolist():
                if fnmatch.fnmatch(info.filename, member_glob) and info.file_size >= rule.min_bytes:
                    out = target / _file_name(info.filename, rule)
                    out.write_bytes(pack.read(info))
                    written.append(out)
    else:
        for path in sorted(unpacked.glob(rule.pattern)):
            if path.is_file() and path.stat().st_size >= rule.min_bytes:
                out = target / _file_name(path.relative_to(unpacked).as_posix(), rule)
                shutil.copy2(path, out)
                written.append(out)
    return sorted(written)


def fetch_training_music(dest: Path, debs: Path = DEFAULT_DEBS) -> dict[str, list[Path]]:
    """Every package of ``TRAINING_PACKAGES`` extracted under ``dest`` (an extracted package is reused)."""
    found = {}
    for package, rule in TRAINING_PACKAGES.items():
        target = dest.absolute() / package
        if target.is_dir() and (extracted := music_in(target)):
            found[package] = extracted
            continue
        with unpacked_package(package, debs) as unpacked:
            found[package] = extract(unpacked, rule, target)
            copy_copyright(package, unpacked, target)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="folder that receives one folder per package")
    parser.add_argument("--debs", type=Path, default=DEFAULT_DEBS, help="downloaded .deb files")
    args = parser.parse_args()
    for package, files in fetch_training_music(args.dest, args.debs).items():
        print(f"{package}: {len(files)} recordings")


if __name__ == "__main__":
    main()
