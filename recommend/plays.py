"""Listening events as the recommendation service reads and writes them; each function takes its session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import ListeningEvent


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


def event_exists(session: Session, user_id: int, track_id: int, played_at: datetime) -> bool:
    """Whether this (user, track, played_at) play is already stored."""
    found = session.scalar(
        select(ListeningEvent.id).where(
            ListeningEvent.user_id == user_id,
            ListeningEvent.track_id == track_id,
            ListeningEvent.played_at == played_at,
        )
    )
    return found is not None


def add_event(
    session: Session, user_id: int, track_id: int, played_at: datetime, ms_played: int | None, skipped: bool
) -> None:
    """Store one play."""
    session.add(
        ListeningEvent(user_id=user_id, track_id=track_id, played_at=played_at, ms_played=ms_played, skipped=skipped)
    )
    session.flush()
