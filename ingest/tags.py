"""Tags read with mutagen, normalised into plain Python values.

mutagen's "easy" interfaces map ID3 (mp3), Vorbis comments (flac/ogg/opus) and MP4 atoms (m4a) to
the same keys, MusicBrainz ids included, so one reader serves every format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import mutagen
from mutagen import MutagenError

from soundalike.ingest.names import MAX_GENRE_NAME, is_valid_name

_YEAR = re.compile(r"(\d{4})")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_GENRE_SPLIT = re.compile(r"\s*[;/,|]\s*")
_MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

GENRE_ALIASES: dict[str, str] = {
    "hiphop": "hip-hop",
    "hip hop": "hip-hop",
    "rnb": "r&b",
    "r and b": "r&b",
    "r & b": "r&b",
    "rhythm and blues": "r&b",
    "electronica": "electronic",
    "synthpop": "synth pop",
    "rock n roll": "rock and roll",
    "rock'n'roll": "rock and roll",
    "rock & roll": "rock and roll",
}
"""Spellings (already lower-cased, '-'/'_' as spaces) mapped to one canonical genre name."""


@dataclass(frozen=True)
class Tags:
    """The tags Soundalike uses; absent tags are None or empty."""

    title: str | None = None
    artist: str | None = None
    album: str | None = None
    year: int | None = None
    genres: tuple[str, ...] = field(default_factory=tuple)
    bpm: float | None = None
    musicbrainz_track_id: str | None = None
    musicbrainz_artist_id: str | None = None
    musicbrainz_album_id: str | None = None


def normalise_genre(name: str) -> str:
    """Canonical genre spelling: lower case, single spaces, '-' and '_' as spaces, aliases resolved."""
    plain = " ".join(re.sub(r"[-_]+", " ", name).lower().split())
    return GENRE_ALIASES.get(plain, GENRE_ALIASES.get(plain.replace(" ", ""), plain))


def split_genres(values: list[str]) -> tuple[str, ...]:
    """Split multi-valued genre tags ('Rock; Pop') into unique normalised names, in order."""
    seen: dict[str, None] = {}
    for value in values:
        for part in _GENRE_SPLIT.split(value):
            name = normalise_genre(part)
            if name and is_valid_name(name, max_length=MAX_GENRE_NAME):
                seen.setdefault(name, None)
    return tuple(seen)


def parse_bpm(text: str | None) -> float | None:
    """A positive BPM from a tag value such as '120', '128.5' or '96 BPM'; None otherwise."""
    match = _NUMBER.search(text or "")
    if not match:
        return None
    bpm = float(match.group(0).replace(",", "."))
    return bpm if 0 < bpm < 1000 else None


def parse_mbid(text: str | None) -> str | None:
    """A MusicBrainz id (lower-case UUID) from a tag value, or None when it is not one."""
    value = (text or "").strip().lower()
    return value if _MBID.match(value) else None


def _first(tags: dict[str, list[str]], key: str) -> str | None:
    values = tags.get(key) or []
    text = str(values[0]).strip() if values else ""
    return text or None


def read_tags(path: Path) -> Tags:
    """Read the tags Soundalike uses; a file without readable tags gives empty Tags."""
    try:
        audio = mutagen.File(str(path), easy=True)
    except (MutagenError, OSError, ValueError):
        return Tags()
    if audio is None or audio.tags is None:
        return Tags()
    tags = {str(key).lower(): [str(v) for v in audio.tags[key]] for key in audio.tags.keys()}
    date = _first(tags, "date") or _first(tags, "year") or _first(tags, "originaldate")
    match = _YEAR.search(date or "")
    return Tags(
        title=_first(tags, "title"),
        artist=_first(tags, "artist"),
        album=_first(tags, "album"),
        year=int(match.group(1)) if match else None,
        genres=split_genres(tags.get("genre", [])),
        bpm=parse_bpm(_first(tags, "bpm")),
        musicbrainz_track_id=parse_mbid(_first(tags, "musicbrainz_trackid")),
        musicbrainz_artist_id=parse_mbid(_first(tags, "musicbrainz_artistid")),
        musicbrainz_album_id=parse_mbid(_first(tags, "musicbrainz_albumid")),
    )
