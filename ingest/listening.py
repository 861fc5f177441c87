"""Listeners and their plays: the one user lookup, users created idempotently, plays checked, stored, read, erased.

Every way in (the HTTP API, ``history import``, the web page, playlists) goes through here, so a user name
is checked and trimmed the same way (``ingest.names``) and a play is validated by the same rules.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Insert, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import MAX_INTEGER, ListeningEvent, User
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.ingest.names import check_user_name
from soundalike.ingest.repository import get_track

MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_MS_PLAYED = MAX_INTEGER


def check_played_at(played_at: datetime, *, now: datetime | None = None) -> datetime:
    """``played_at`` as aware UTC (naive is taken as UTC); InputError when it cannot be expressed in UTC
    or lies in the future beyond a small clock skew."""
    try:
        aware = played_at.replace(tzinfo=UTC) if played_at.tzinfo is None else played_at.astimezone(UTC)
    except OverflowError as exc:
        raise InputError(f"played_at {played_at.isoformat()} is out of range in UTC") from exc
    limit = (now or datetime.now(UTC)) + MAX_CLOCK_SKEW
    if aware > limit:
        raise InputError(f"played_at {aware.isoformat()} is in the future")
    return aware


def check_ms_played(ms_played: int | None) -> int | None:
    """``ms_played`` unchanged; InputError when it is negative or beyond ``MAX_MS_PLAYED``."""
    if ms_played is not None and not 0 <= ms_played <= MAX_MS_PLAYED:
        raise InputError(f"ms_played {ms_played} is outside 0..{MAX_MS_PLAYED}")
    return ms_played


def find_user(session: Session, name: str) -> User | None:
    """The user with this name (checked and trimmed by ``check_user_name``), or None."""
    return session.scalars(select(User).where(User.name == check_user_name(name))).one_or_none()


def get_user(session: Session, name: str) -> User:
    """The user with this name, or NotFoundError."""
    user = find_user(session, name)
    if user is None:
        raise NotFoundError(f"no user named {name!r}")
    return user


def _insert_user_if_absent(session: Session, name: str) -> Insert:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(User).values(name=name).on_conflict_do_nothing(index_elements=[User.name])


def get_or_create_user(session: Session, name: str) -> User:
    """The user with this name, created on first use; InputError for a name ``check_user_name`` refuses.

    Creation is an insert that does nothing on a name already taken, so two requests creating the same new
    user at once both get the one row instead of a UNIQUE violation.
    """
    user = find_user(session, name)
    if user is None:
        session.execute(_insert_user_if_absent(session, check_user_name(name)))
        user = get_user(session, name)
    return user


def user_names(session: Session) -> list[str]:
    """Every listener's name, sorted."""
    return list(session.scalars(select(User.name).order_by(User.name)))


def erase_user(session: Session, name: str) -> int:
    """Delete a user and every listening event of theirs (a listener's right to erasure); the number of events."""
    user = get_user(session, name)
    deleted = session.scalar(select(func.count(ListeningEvent.id)).where(ListeningEvent.user_id == user.id))
    session.execute(delete(ListeningEvent).where(ListeningEvent.user_id == user.id))
    session.delete(user)
    session.flush()
    return int(deleted or 0)


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


def checked_event(
    session: Session, number: int, event: tuple[int, datetime, int | None, bool]
) -> tuple[int, datetime, int | None, bool]:
    """A (track_id, played_at, ms_played, skipped) play with its time in UTC; NotFoundError for an unknown
    track, InputError naming the play by its 1-based ``number`` when a value is out of range."""
    track_id, played_at, ms_played, skipped = event
    get_track(session, track_id)
    try:
        return track_id, check_played_at(played_at), check_ms_played(ms_played), skipped
    except InputError as exc:
        raise InputError(f"event {number}: {exc}") from exc


def record_events(
    session: Session, user_name: str, events: list[tuple[int, datetime, int | None, bool]]
) -> dict[str, int]:
    """Store (track_id, played_at, ms_played, skipped) plays of a user (created on first use) when every one
    passes ``checked_event``; a play already stored counts as a duplicate."""
    checked = [checked_event(session, number, event) for number, event in enumerate(events, 1)]
    user = get_or_create_user(session, user_name)
    imported = duplicates = 0
    for track_id, played_at, ms_played, skipped in checked:
        if record_play(session, user.id, track_id, played_at, ms_played=ms_played, skipped=skipped):
            imported += 1
        else:
            duplicates += 1
    return {"imported": imported, "duplicates": duplicates}


def user_events(session: Session, user_id: int) -> list[tuple[int, datetime, bool]]:
    """(track_id, played_at, skipped) of every play of a user, oldest first."""
    rows = session.execute(
        select(ListeningEvent.track_id, ListeningEvent.played_at, ListeningEvent.skipped)
        .where(ListeningEvent.user_id == user_id)
        .order_by(ListeningEvent.played_at)
    )
    return [(int(t), p, bool(s)) for t, p, s in rows]


def completed_plays(session: Session) -> dict[int, int]:
    """Completed (not skipped) plays per track, over every listener; tracks never played are absent."""
    plays = func.count(ListeningEvent.id)
    rows = session.execute(
        select(ListeningEvent.track_id, plays)
        .where(ListeningEvent.skipped == False)  # noqa: E712
        .group_by(ListeningEvent.track_id)
    )
    return {int(t): int(n) for t, n in rows}
