"""Listening history files: each row read into a play and stored through ``ingest.listening``.

Idempotent, and bad rows are reported with line numbers (``ingest.rows.import_rows``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import Track
from soundalike.ingest.errors import InputError
from soundalike.ingest.listening import check_ms_played, check_played_at, get_or_create_user, record_play
from soundalike.ingest.names import check_user_name
from soundalike.ingest.paths import to_db_path
from soundalike.ingest.rows import RowReport, import_rows

HISTORY_COLUMNS = (("user",), ("played_at",), ("track", "artist+title"))
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
        track_id = session.scalar(select(Track.id).where(Track.path == to_db_path(path.absolute())))
    if track_id is None:
        raise InputError(f"unknown track {text!r}")
    return int(track_id)


def track_by_artist_title(session: Session, artist: str, title: str) -> int:
    """The one live track whose artist and title match, ignoring case; copies of it count as one."""
    rows = session.execute(
        select(Track.id, Track.duplicate_of_id)
        .where(
            func.lower(Track.artist) == artist.strip().lower(),
            func.lower(Track.title) == title.strip().lower(),
            Track.status != "deleted",
        )
        .order_by(Track.id)
    ).all()
    originals = sorted({row.duplicate_of_id or row.id for row in rows})
    if not originals:
        raise InputError(f"unknown track {artist!r} - {title!r}")
    if len(originals) > 1:
        raise InputError(f"{artist!r} - {title!r} matches {len(originals)} tracks; name it by id or path")
    return originals[0]


def resolve_row_track(session: Session, row: dict[str, object], base: Path) -> int:
    """Track id of a history row: ``track`` (id or path), else ``artist`` and ``title``."""
    artist, title = (str(row.get(k) or "").strip() for k in ("artist", "title"))
    if str(row.get("track") or "").strip() or not (artist and title):
        return resolve_track(session, row.get("track"), base)
    return track_by_artist_title(session, artist, title)


def import_history(session: Session, path: Path) -> RowReport:
    """Load listening events from CSV or JSON lines (user, track, played_at, [ms_played], [skipped]).

    A row names its track by id or path in ``track``, or by ``artist`` and ``title`` (case-insensitive).
    Importing the same file again adds nothing; bad rows are reported with their line numbers, create
    nothing (not even their user), and the good rows are kept. A file without the needed columns, not
    in UTF-8/UTF-16, or without one good row is refused as a whole.
    """
    base = path.parent.absolute()

    def store(row: dict[str, object]) -> bool:
        user_name = check_user_name(str(row.get("user") or ""))
        track_id = resolve_row_track(session, row, base)
        played_at = check_played_at(parse_time(row.get("played_at")))
        ms_played = parse_ms(row.get("ms_played"))
        skipped = parse_bool(row.get("skipped"))
        user = get_or_create_user(session, user_name)
        return record_play(session, user.id, track_id, played_at, ms_played=ms_played, skipped=skipped)

    return import_rows(path, store, required=HISTORY_COLUMNS)
