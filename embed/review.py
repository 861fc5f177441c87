"""Curator review of genres: accept or reject a genre for a track (source ``curator``).

An accepted curator genre is a training label; a rejected one is never trained on nor predicted for
that track again.
"""

from __future__ import annotations

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import (
    CURATED_SOURCES,
    MACHINE_SOURCES,
    Genre,
    GenreDecision,
    Track,
    TrackGenre,
    utcnow,
)
from soundalike.ingest.errors import NotFoundError, PreconditionError
from soundalike.ingest.repository import get_or_create_genre, get_track, set_track_genre


def _row(session: Session, track_id: int, genre_id: int, source: str) -> TrackGenre | None:
    return session.scalars(
        select(TrackGenre).where(
            TrackGenre.track_id == track_id, TrackGenre.genre_id == genre_id, TrackGenre.source == source
        )
    ).one_or_none()


def review_genre(session: Session, track_id: int, genre: str, *, accept: bool) -> TrackGenre:
    """Record a curator decision, and what it replaced in the track's history (``genre_history``); a rejection
    also drops the prediction or suggestion of that genre for the track."""
    get_track(session, track_id)
    genre_id = get_or_create_genre(session, genre, curated=True).id
    before = _row(session, track_id, genre_id, "curator")
    prediction = _row(session, track_id, genre_id, "predicted")
    decision = GenreDecision(
        track_id=track_id,
        genre=session.get_one(Genre, genre_id).name,
        accepted=accept,
        prior_verdict=None if before is None else not before.rejected,
        dropped_prediction=prediction is not None and not accept,
        prior_confidence=prediction.confidence if prediction is not None and not accept else None,
        prior_model_version=prediction.model_version if prediction is not None and not accept else None,
    )
    row = set_track_genre(session, track_id, genre, source="curator", confidence=1.0)
    row.rejected = not accept
    if not accept:
        if prediction is not None:
            session.delete(prediction)
        session.execute(
            delete(TrackGenre).where(
                TrackGenre.track_id == track_id, TrackGenre.genre_id == genre_id, TrackGenre.source == "suggested"
            )
        )
    session.add(decision)
    session.flush()
    return row


def genre_history(session: Session, track_id: int) -> list[GenreDecision]:
    """A track's curator decisions, newest first."""
    return list(
        session.scalars(
            select(GenreDecision)
            .where(GenreDecision.track_id == track_id)
            .order_by(GenreDecision.decided_at.desc(), GenreDecision.id.desc())
        )
    )


def undo_decision(session: Session, decision_id: int) -> GenreDecision:
    """Put a track's genre back as it was before a decision: the curator row it replaced (or none) and the
    prediction a rejection dropped. Only the latest live decision on a track's genre can be undone (an earlier
    one was already replaced); PreconditionError otherwise, NotFoundError for an unknown decision."""
    decision = session.get(GenreDecision, decision_id)
    if decision is None:
        raise NotFoundError(f"no genre decision {decision_id}")
    latest = session.scalars(
        select(GenreDecision)
        .where(
            GenreDecision.track_id == decision.track_id,
            GenreDecision.genre == decision.genre,
            GenreDecision.undone_at.is_(None),
        )
        .order_by(GenreDecision.id.desc())
        .limit(1)
    ).one_or_none()
    if latest is None or latest.id != decision.id:
        raise PreconditionError(f"decision {decision_id} was already undone or a later decision replaced it")
    genre_id = get_or_create_genre(session, decision.genre).id
    current = _row(session, decision.track_id, genre_id, "curator")
    if decision.prior_verdict is None:
        if current is not None:
            session.delete(current)
    else:
        row = set_track_genre(session, decision.track_id, decision.genre, source="curator", confidence=1.0)
        row.rejected = not decision.prior_verdict
    if decision.dropped_prediction and _row(session, decision.track_id, genre_id, "predicted") is None:
        set_track_genre(
            session,
            decision.track_id,
            decision.genre,
            source="predicted",
            confidence=decision.prior_confidence,
            model_version=decision.prior_model_version,
        )
    decision.undone_at = utcnow()
    session.flush()
    return decision


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
