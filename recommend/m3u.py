"""Extended M3U playlists of ranked results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from soundalike.ingest.atomic_files import atomic_write_bytes
from soundalike.recommend.results import Result


def m3u_bytes(results: Sequence[Result]) -> bytes:
    """``#EXTM3U`` with one ``#EXTINF`` line (artist - title, UTF-8) and the file's exact path bytes per track.

    A file name that is not valid UTF-8 is written as the bytes that name it, so every line opens its file.
    """
    lines = [b"#EXTM3U"]
    for r in results:
        name = " - ".join(x for x in (r.artist, r.title or Path(r.path).stem) if x)
        lines += [f"#EXTINF:-1,{name}".encode(), r.file_bytes()]
    return b"\n".join(lines) + b"\n"


def write_m3u(results: Sequence[Result], target: Path) -> Path:
    """Write the playlist file atomically and return its path."""
    return atomic_write_bytes(target, m3u_bytes(results))
