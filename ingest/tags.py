"""Tags read with mutagen, normalised into plain Python values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import mutagen
from mutagen import MutagenError

_YEAR = re.compile(r"(\d{4})")
_GENRE_SPLIT = re.compile(r"\s*[;/,|]\s*")


@dataclass(frozen=True)
class Tags:
    """The tags Soundalike uses; absent tags are None or empty."""

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    year: int | None = None
    genres: tuple[str, ...] = field(default_factory=tuple)


def normalise_genre(name: str) -> str:
    """Canonical genre spelling: lower case, single spaces, '-' and '_' as spaces."""
    return " ".join(re.sub(r"[-_]+", " ", name).lower().split())


def split_genres(values: list[str]) -> tuple[str, ...]:
    """Split multi-valued genre tags ('Rock; Pop') into unique normalised names, in order."""
    seen: dict[str, None] = {}
    for value in values:
        for part in _GENRE_SPLIT.split(value):
            name = normalise_genre(part)
            if name:
                seen.setdefault(name, None)
    return tuple(seen)


def _first(tags: dict[str, list[str]], key: str) -> str | None:
    values = tags.get(key) or []
    text = str(values[0]).strip() if values else ""
    return text or None


def read_tags(path: Path) -> Tags:
    """Read title/artist/album/year/genre; a file without readable tags gives empty Tags."""
    try:
        audio = mutagen.File(str(path), easy=True)
    except (MutagenError, OSError, ValueError):
        return Tags()
    if audio is None or audio.tags is None:
        return Tags()
    tags = {str(key).lower(): [str(v) for v in audio.tags[key]] for key in audio.tags.keys()}
    date = _first(tags, "date") or _first(tags, "year")
    match = _YEAR.search(date or "")
    return Tags(
        title=_first(tags, "title"),
        artist=_first(tags, "artist"),
        album=_first(tags, "album"),
        year=int(match.group(1)) if match else None,
        genres=split_genres(tags.get("genre", [])),
    )
