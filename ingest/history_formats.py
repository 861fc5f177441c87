"""Listening-history exports of other services, read into songs and times: ListenBrainz listens (JSON array
or JSON lines) and the common Last.fm scrobble CSVs (``uts``/``utc_time``, artist, album, track, MBIDs).

Which one a file is comes from its first row, never from its name (``detect_format``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from soundalike.ingest.errors import InputError
from soundalike.ingest.track_match import SongRef

OWN, LISTENBRAINZ, LASTFM = "soundalike", "listenbrainz", "lastfm"
LASTFM_TIME_FORMATS = ("%d %b %Y, %H:%M", "%d %b %Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Listen:
    """One play read from an export: the song, when, how long (ms) when known, and the export's user name."""

    song: SongRef
    played_at: datetime
    ms_played: int | None = None
    user: str | None = None


def detect_format(row: dict[str, object]) -> str:
    """``listenbrainz`` for a row with ``track_metadata``, ``lastfm`` for one with ``uts`` or ``utc_time``,
    else ``soundalike`` (our own columns)."""
    keys = {str(k).strip().lower() for k in row}
    if "track_metadata" in keys:
        return LISTENBRAINZ
    if keys & {"uts", "utc_time"}:
        return LASTFM
    return OWN


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _number(value: object, what: str) -> float | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        return float(str(value))
    except ValueError as exc:
        raise InputError(f"{what} {value!r} is not a number") from exc


def _object(parent: dict[object, object], key: str) -> dict[object, object]:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _unix_time(value: object, what: str) -> datetime:
    seconds = _number(value, what)
    if seconds is None:
        raise InputError(f"{what} is missing")
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InputError(f"{what} {value!r} is out of range as Unix seconds") from exc


def listenbrainz_listen(row: dict[str, object]) -> Listen:
    """A ListenBrainz listen: ``listened_at`` (Unix seconds), ``track_metadata`` with artist and track names
    and, in ``additional_info`` or ``mbid_mapping``, the recording id and duration when present."""
    meta = row.get("track_metadata")
    if not isinstance(meta, dict):
        raise InputError("track_metadata is not an object")
    info, mapping = _object(meta, "additional_info"), _object(meta, "mbid_mapping")
    duration_ms = _number(info.get("duration_ms"), "duration_ms")
    duration = _number(info.get("duration"), "duration")
    song = SongRef(
        musicbrainz_id=_text(info.get("recording_mbid")) or _text(mapping.get("recording_mbid")),
        artist=_text(meta.get("artist_name")),
        title=_text(meta.get("track_name")),
        duration=duration_ms / 1000 if duration_ms is not None else duration,
    )
    return Listen(song, _unix_time(row.get("listened_at"), "listened_at"), user=_text(row.get("user_name")))


def lastfm_time(row: dict[str, object]) -> datetime:
    """A scrobble's time: ``uts`` (Unix seconds) when present, else ``utc_time`` in the exports' formats."""
    if _text(row.get("uts")):
        return _unix_time(row.get("uts"), "uts")
    text = _text(row.get("utc_time"))
    if text is None:
        raise InputError("uts and utc_time are missing")
    for fmt in LASTFM_TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise InputError(f"utc_time {text!r} is not a time like '31 Jan 2021, 18:04'")


def lastfm_scrobble(row: dict[str, object]) -> Listen:
    """A Last.fm scrobble row: time, ``artist``, ``track`` and ``track_mbid`` when present."""
    song = SongRef(
        musicbrainz_id=_text(row.get("track_mbid")), artist=_text(row.get("artist")), title=_text(row.get("track"))
    )
    return Listen(song, lastfm_time(row))
