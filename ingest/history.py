"""Listening history files (ours, ListenBrainz, Last.fm): each row read into a play stored through ``ingest.listening``.

Idempotent, and bad rows are reported with line numbers (``ingest.rows.import_rows``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import Track
from soundalike.ingest.errors import InputError
from soundalike.ingest.history_formats import (
    LASTFM,
    LISTENBRAINZ,
    OWN,
    detect_format,
    lastfm_scrobble,
    listenbrainz_listen,
)
from soundalike.ingest.listening import check_ms_played, check_played_at, get_or_create_user, record_play
from soundalike.ingest.names import check_user_name
from soundalike.ingest.paths import absolute_path, to_db_path
from soundalike.ingest.rows import RowReport, import_rows, read_rows
from soundalike.ingest.track_match import SongRef, TrackMatcher, load_matcher

HISTORY_COLUMNS = (("user",), ("played_at",), ("track", "artist+title"))
LASTFM_COLUMNS = (("uts", "utc_time"), ("artist",), ("track",))
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


def parse_time(value: object) -> datetime:
    """ISO 8601 text or Unix seconds as a datetime (``check_played_at`` brings it to UTC); InputError when
    it is neither or lies outside the years 1 to 9999."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise InputError(f"played_at {value!r} is out of range as Unix seconds") from exc
    text = str(value or "").strip()
    if not text:
        raise InputError("played_at is missing")
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"played_at {text!r} is not an ISO 8601 time") from exc


def parse_bool(value: object) -> bool:
    """Booleans written as true/false, yes/no or 1/0."""
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InputError(f"skipped {value!r} is not a boolean")


def parse_ms(value: object) -> int | None:
    """Milliseconds played, checked by ``check_ms_played``, or None when absent."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    try:
        ms = int(text) if text.lstrip("+-").isdigit() else int(float(text))
    except (ValueError, OverflowError) as exc:
        raise InputError(f"ms_played {value!r} is not a number of milliseconds") from exc
    return check_ms_played(ms)


def resolve_track(session: Session, ref: object, base: Path) -> int:
    """Track id from a reference: an id, or a path (absolute or relative to ``base``)."""
    text = str(ref if ref is not None else "").strip()
    if not text:
        raise InputError("track is missing")
    if text.isdigit():
        track_id = session.scalar(select(Track.id).where(Track.id == int(text)))
    else:
        path = Path(text) if Path(text).is_absolute() else (base / text)
        track_id = session.scalar(select(Track.id).where(Track.path == to_db_path(absolute_path(path))))
    if track_id is None:
        raise InputError(f"unknown track {text!r}")
    return int(track_id)


def resolve_row_track(session: Session, row: dict[str, object], base: Path, matcher: TrackMatcher) -> int:
    """Track id of a history row: ``track`` (id or path), else ``artist`` and ``title`` (with ``duration`` and
    ``musicbrainz_id`` when given) through the one matcher."""
    artist, title = (str(row.get(k) or "").strip() for k in ("artist", "title"))
    if str(row.get("track") or "").strip() or not (artist and title):
        return resolve_track(session, row.get("track"), base)
    duration = str(row.get("duration") or "").strip()
    song = SongRef(
        musicbrainz_id=str(row.get("musicbrainz_id") or "") or None,
        artist=artist,
        title=title,
        duration=float(duration) if duration.replace(".", "", 1).isdigit() else None,
    )
    return matched(matcher, song)


def matched(matcher: TrackMatcher, song: SongRef) -> int:
    """The track ``song`` matches; InputError with the matcher's reason when none does."""
    found = matcher.match(song)
    if found.track_id is None:
        raise InputError(found.reason or f"unknown track {song.describe()}")
    return found.track_id


@dataclass
class HistoryReport(RowReport):
    """A history import's rows, the format read from the file, and how many rows named an unknown track."""

    format: str = OWN
    unmatched: int = 0

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return super().as_dict() | {"format": self.format, "unmatched": self.unmatched}


def file_format(path: Path) -> str:
    """The history format of ``path``, from its first row (``history_formats.detect_format``)."""
    for _line, row in read_rows(path):
        return detect_format(row) if isinstance(row, dict) else OWN
    return OWN


def import_history(session: Session, path: Path, *, user: str | None = None) -> HistoryReport:
    """Load listening events from our CSV or JSON lines, a ListenBrainz listens export or a Last.fm scrobble CSV.

    Our format has user, track, played_at, [ms_played], [skipped]; a row names its track by id or path in
    ``track``, or by ``artist`` and ``title``. An export of another service has no user column: its plays go
    to ``user`` (a ListenBrainz listen's own ``user_name`` otherwise). Songs are matched by MusicBrainz id,
    then artist + title (+ duration); every row matching no track is reported with the reason.
    Importing the same file again adds nothing; bad rows are reported with their line numbers, create
    nothing (not even their user), and the good rows are kept. A file without the needed columns, not
    in UTF-8/UTF-16, or without one good row is refused as a whole.
    """
    base = path.parent.absolute()
    kind = file_format(path)
    matcher = load_matcher(session)
    unmatched = 0

    def store_own(row: dict[str, object]) -> bool:
        user_name = check_user_name(str(row.get("user") or ""))
        track_id = resolve_row_track(session, row, base, matcher)
        played_at = check_played_at(parse_time(row.get("played_at")))
        ms_played = parse_ms(row.get("ms_played"))
        skipped = parse_bool(row.get("skipped"))
        listener = get_or_create_user(session, user_name)
        return record_play(session, listener.id, track_id, played_at, ms_played=ms_played, skipped=skipped)

    def store_listen(row: dict[str, object]) -> bool:
        nonlocal unmatched
        listen = listenbrainz_listen(row) if kind == LISTENBRAINZ else lastfm_scrobble(row)
        user_name = check_user_name(user or listen.user or "")
        played_at = check_played_at(listen.played_at)
        found = matcher.match(listen.song)
        if found.track_id is None:
            unmatched += 1
            raise InputError(found.reason or f"unknown track {listen.song.describe()}")
        listener = get_or_create_user(session, user_name)
        return record_play(session, listener.id, found.track_id, played_at, ms_played=None, skipped=False)

    if kind == LASTFM and user is None:
        raise InputError(f"{path} is a Last.fm export, which names no listener: give the user (--user NAME)")
    required = HISTORY_COLUMNS if kind == OWN else LASTFM_COLUMNS if kind == LASTFM else ()
    rows = import_rows(path, store_own if kind == OWN else store_listen, required=required)
    return HistoryReport(rows.imported, rows.duplicates, rows.errors, format=kind, unmatched=unmatched)
