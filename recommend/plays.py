"""Listening events as the service reads them (``ingest.history`` writes them); each takes its session."""

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
