"""Curator review of genres: accept or reject a genre for a track (source ``curator``).

An accepted curator genre is a training label; a rejected one is never trained on nor predicted for
that track again.
"""

from __future__ import annotations

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import CURATED_SOURCES, MACHINE_SOURCES, Genre, Track, TrackGenre
from soundalike.ingest.repository import get_or_create_genre, get_track, set_track_genre


def review_genre(session: Session, track_id: int, genre: str, *, accept: bool) -> TrackGenre:
    """Record a curator decision; a rejection also drops the prediction or suggestion of that genre for the track."""
    get_track(session, track_id)
    row = set_track_genre(session, track_id, genre, source="curator", confidence=1.0)
    row.rejected = not accept
    if not accept:
        session.execute(
            delete(TrackGenre).where(
                TrackGenre.track_id == track_id,
                TrackGenre.genre_id == get_or_create_genre(session, genre).id,
                TrackGenre.source.in_(MACHINE_SOURCES),
            )
        )
    session.flush()
    return row


def rejected_pairs(session: Session) -> set[tuple[int, str]]:
    """(track id, genre name) pairs a curator rejected."""
    rows = session.execute(
        select(TrackGenre.track_id, Genre.name)
        .join(Genre, Genre.id == TrackGenre.genre_id)
        .where(TrackGenre.source == "curator", TrackGenre.rejected.is_(True))
    )
    return {(int(r.track_id), str(r.name)) for r in rows}


def review_queue(session: Session, *, offset: int, limit: int) -> tuple[int, list[tuple[int, str, float | None]]]:
    """(how many remain, one page of them): predicted and suggested genres of playable tracks no curator or label
    has settled: suggestions (calls the head would not assign) first, then least confident first, so a reviewer's
    time goes where the model is least sure (active learning)."""
    settled = select(TrackGenre.track_id).where(TrackGenre.source.in_(CURATED_SOURCES), TrackGenre.rejected.is_(False))
    pending = (
        select(TrackGenre.track_id, Genre.name, TrackGenre.confidence)
        .join(Genre, Genre.id == TrackGenre.genre_id)
        .join(Track, Track.id == TrackGenre.track_id)
        .where(
            TrackGenre.source.in_(MACHINE_SOURCES),
            TrackGenre.rejected.is_(False),
            Track.status == "ok",
            TrackGenre.track_id.not_in(settled),
        )
    )
    remaining = int(session.scalar(select(func.count()).select_from(pending.subquery())) or 0)
    rows = session.execute(
        pending.order_by(
            case((TrackGenre.source == "suggested", 0), else_=1),
            TrackGenre.confidence.asc().nulls_last(),
            TrackGenre.track_id,
        )
        .offset(offset)
        .limit(limit)
    )
    return remaining, [(int(t), str(g), c) for t, g, c in rows]


def reviewed_count(session: Session) -> int:
    """How many curator decisions are stored."""
    return int(session.scalar(select(func.count()).where(TrackGenre.source == "curator")) or 0)


def suggestion_count(session: Session) -> int:
    """How many tracks carry a suggestion the genre head was not sure enough to assign ("none of these")."""
    query = select(func.count(func.distinct(TrackGenre.track_id))).where(TrackGenre.source == "suggested")
    return int(session.scalar(query) or 0)
