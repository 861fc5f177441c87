"""Listening history import: validated, idempotent, bad rows reported with line numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import ListeningEvent, Track, User
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.ingest.paths import to_db_path
from soundalike.ingest.repository import check_user_name, get_or_create_user
from soundalike.ingest.rows import read_rows

HISTORY_COLUMNS = (("user",), ("played_at",), ("track", "artist+title"))
MAX_CLOCK_SKEW = timedelta(minutes=5)
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


@dataclass
class HistoryReport:
    """Outcome of one history import."""

    imported: int = 0
    duplicates: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"imported": self.imported, "duplicates": self.duplicates, "errors": self.errors}


def parse_time(value: object) -> datetime:
    """ISO 8601 text or Unix seconds as an aware UTC datetime (naive times are taken as UTC)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value or "").strip()
    if not text:
        raise InputError("played_at is missing")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"played_at {text!r} is not an ISO 8601 time") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def check_played_at(played_at: datetime, *, now: datetime | None = None) -> datetime:
    """``played_at`` as aware UTC; InputError when it lies in the future beyond a small clock skew."""
    aware = played_at.replace(tzinfo=UTC) if played_at.tzinfo is None else played_at.astimezone(UTC)
    limit = (now or datetime.now(UTC)) + MAX_CLOCK_SKEW
    if aware > limit:
        raise InputError(f"played_at {aware.isoformat()} is in the future")
    return aware


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
    """Milliseconds played: a non-negative integer, or None when absent."""
    if value is None or str(value).strip() == "":
        return None
    try:
        ms = int(float(str(value)))
    except ValueError as exc:
        raise InputError(f"ms_played {value!r} is not a number") from exc
    if ms < 0:
        raise InputError(f"ms_played {ms} is negative")
    return ms


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


def import_history(session: Session, path: Path) -> HistoryReport:
    """Load listening events from CSV or JSON lines (user, track, played_at, [ms_played], [skipped]).

    A row names its track by id or path in ``track``, or by ``artist`` and ``title`` (case-insensitive).
    Importing the same file again adds nothing; bad rows are reported with their line numbers, create
    nothing (not even their user), and the good rows are kept. A file without the needed columns, or not
    in UTF-8/UTF-16, is refused as a whole.
    """
    report = HistoryReport()
    base = path.parent.absolute()
    for line, row in read_rows(path, required=HISTORY_COLUMNS):
        try:
            if isinstance(row, str):
                raise InputError(row)
            user_name = check_user_name(str(row.get("user") or ""))
            track_id = resolve_row_track(session, row, base)
            played_at = check_played_at(parse_time(row.get("played_at")))
            ms_played = parse_ms(row.get("ms_played"))
            skipped = parse_bool(row.get("skipped"))
            user = get_or_create_user(session, user_name)
        except InputError as exc:
            report.errors.append({"line": line, "reason": str(exc)})
            continue
        if not record_play(session, user.id, track_id, played_at, ms_played=ms_played, skipped=skipped):
            report.duplicates += 1
            continue
        report.imported += 1
    return report


def record_play(
    session: Session, user_id: int, track_id: int, played_at: datetime, *, ms_played: int | None, skipped: bool
) -> bool:
    """Store one play unless this (user, track, played_at) is already stored; whether it was stored."""
    exists = session.scalar(
        select(ListeningEvent.id).where(
            ListeningEvent.user_id == user_id,
            ListeningEvent.track_id == track_id,
            ListeningEvent.played_at == played_at,
        )
    )
    if exists is not None:
        return False
    session.add(
        ListeningEvent(user_id=user_id, track_id=track_id, played_at=played_at, ms_played=ms_played, skipped=skipped)
    )
    session.flush()
    return True


def erase_user(session: Session, name: str) -> int:
    """Delete a user and every listening event of theirs (a listener's right to erasure); the number of events."""
    user = session.scalars(select(User).where(User.name == name.strip())).one_or_none()
    if user is None:
        raise NotFoundError(f"no user named {name!r}")
    deleted = session.scalar(select(func.count(ListeningEvent.id)).where(ListeningEvent.user_id == user.id))
    session.execute(delete(ListeningEvent).where(ListeningEvent.user_id == user.id))
    session.delete(user)
    session.flush()
    return int(deleted or 0)
