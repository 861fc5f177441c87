"""Finding audio files under the paths a user names."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".m4a", ".aac", ".wma", ".alac"}
)


def is_audio_name(path: Path) -> bool:
    """Whether the file name has an audio extension."""
    return path.suffix.lower() in AUDIO_EXTENSIONS


def scan(paths: Iterable[Path]) -> Iterator[Path]:
    """Absolute paths of audio-named entries under ``paths``, sorted per directory.

    Files named explicitly are yielded whatever their extension. Symlinked directories are not
    followed (no loops); unreadable directories are skipped.
    """
    for root in paths:
        root = root.absolute()
        if not root.is_dir():
            yield root
            continue
        for directory, dirnames, filenames in os.walk(root, onerror=lambda _err: None):
            dirnames.sort()
            base = Path(directory)
            for name in sorted(filenames + [d for d in dirnames if is_audio_name(Path(d))]):
                candidate = base / name
                if is_audio_name(candidate):
                    yield candidate
