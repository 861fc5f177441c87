"""Extended M3U playlists of ranked results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from soundalike.recommend.results import Result


def m3u_text(results: Sequence[Result]) -> str:
    """``#EXTM3U`` with one ``#EXTINF`` line (artist - title) and the absolute path per track."""
    lines = ["#EXTM3U"]
    for r in results:
        name = " - ".join(x for x in (r.artist, r.title or Path(r.path).stem) if x)
        lines += [f"#EXTINF:-1,{name}", r.path]
    return "\n".join(lines) + "\n"


def write_m3u(results: Sequence[Result], target: Path) -> Path:
    """Write the playlist file (UTF-8) and return its path."""
    target.write_text(m3u_text(results), encoding="utf-8")
    return target
