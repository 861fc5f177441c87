"""Repository functions the recommendation service reads and writes; each takes the session it works in."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import Genre, ListeningEvent, Track, TrackGenre
from soundalike.recommend.filters import TrackFacts

CHUNK = 900


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i : i + CHUNK]) for i in range(0, len(ids), CHUNK)]


GENRE_COLUMNS = (TrackGenre.track_id, Genre.name, TrackGenre.source, TrackGenre.rejected)


def _fold_genres(rows: Iterable[Any]) -> dict[int, frozenset[str]]:
    """Any source's non-rejected genre of a track, unless a curator rejected it."""
    accepted: dict[int, set[str]] = {}
    rejected: dict[int, set[str]] = {}
    for tid, name, source, is_rejected in rows:
        if is_rejected:
            if source == "curator":
                rejected.setdefault(tid, set()).add(name)
        else:
            accepted.setdefault(tid, set()).add(name)
    return {tid: frozenset(names - rejected.get(tid, set())) for tid, names in accepted.items()}


def track_genres(session: Session, ids: Collection[int]) -> dict[int, frozenset[str]]:
    """Genres of each track: any source's non-rejected genre, unless a curator rejected it."""
    query = select(*GENRE_COLUMNS).join(Genre, Genre.id == TrackGenre.genre_id)
    return _fold_genres(
        row for chunk in _chunks(sorted(ids)) for row in session.execute(query.where(TrackGenre.track_id.in_(chunk)))
    )


def all_track_genres(session: Session) -> dict[int, frozenset[str]]:
    """``track_genres`` of every track, in one query."""
    return _fold_genres(session.execute(select(*GENRE_COLUMNS).join(Genre, Genre.id == TrackGenre.genre_id)))


FACT_COLUMNS = (
    Track.id,
    Track.path,
    Track.title,
    Track.artist,
    Track.album,
    Track.year,
    Track.tempo,
    Track.bpm,
    Track.key,
    Track.duplicate_of_id,
    Track.status,
)


def _facts(row: Any, genres: frozenset[str]) -> TrackFacts:
    return TrackFacts(
        track_id=row.id,
        path=row.path,
        title=row.title,
        artist=row.artist,
        album=row.album,
        year=row.year,
        tempo=row.tempo if row.tempo is not None else row.bpm,
        key=row.key,
        duplicate_of_id=row.duplicate_of_id,
        status=row.status,
        genres=genres,
    )


def track_facts(session: Session, ids: Collection[int]) -> dict[int, TrackFacts]:
    """Facts of the tracks that exist among ``ids``, keyed by id."""
    genres = track_genres(session, ids)
    found: dict[int, TrackFacts] = {}
    for chunk in _chunks(sorted(ids)):
        for row in session.execute(select(*FACT_COLUMNS).where(Track.id.in_(chunk))):
            found[row.id] = _facts(row, genres.get(row.id, frozenset()))
    return found


def page_tracks(
    session: Session, *, offset: int, limit: int, status: str | None = "ok"
) -> tuple[int, list[TrackFacts]]:
    """(total, one page of tracks ordered by id)."""
    query = select(*FACT_COLUMNS)
    count = select(func.count(Track.id))
    if status is not None:
        query = query.where(Track.status == status)
        count = count.where(Track.status == status)
    rows = list(session.execute(query.order_by(Track.id).offset(offset).limit(limit)))
    genres = track_genres(session, [r.id for r in rows])
    return int(session.scalar(count) or 0), [_facts(r, genres.get(r.id, frozenset())) for r in rows]


def genre_rows(session: Session, track_id: int) -> list[dict[str, object]]:
    """Every genre row of a track with its source, confidence and rejected flag."""
    rows = session.execute(
        select(Genre.name, TrackGenre.source, TrackGenre.confidence, TrackGenre.rejected)
        .join(Genre, Genre.id == TrackGenre.genre_id)
        .where(TrackGenre.track_id == track_id)
        .order_by(Genre.name, TrackGenre.source)
    )
    return [{"genre": n, "source": s, "confidence": c, "rejected": bool(r)} for n, s, c, r in rows]


def user_events(session: Session, user_id: int) -> list[tuple[int, datetime, bool]]:
    """(track_id, played_at, skipped) of every play of a user, oldest first."""
    rows = session.execute(
        select(ListeningEvent.track_id, ListeningEvent.played_at, ListeningEvent.skipped)
        .where(ListeningEvent.user_id == user_id)
        .order_by(ListeningEvent.played_at)
    )
    return [(int(t), p, bool(s)) for t, p, s in rows]


def popular_tracks(
    session: Session, limit: int, *, genres: Collection[str] = (), exclude: Collection[int] = ()
) -> list[tuple[int, int]]:
    """(track_id, completed plays) of ok tracks, most played first (ties by id), optionally within genres."""
    plays = func.count(ListeningEvent.id)
    query = (
        select(Track.id, plays)
        .outerjoin(
            ListeningEvent,
            (ListeningEvent.track_id == Track.id) & (ListeningEvent.skipped == False),  # noqa: E712
        )
        .where(Track.status == "ok", Track.duplicate_of_id.is_(None))
        .group_by(Track.id)
        .order_by(plays.desc(), Track.id)
        .limit(limit + len(exclude))
    )
    if genres:
        tagged = (
            select(TrackGenre.track_id)
            .join(Genre, Genre.id == TrackGenre.genre_id)
            .where(Genre.name.in_(list(genres)), TrackGenre.rejected == False)  # noqa: E712
        )
        query = query.where(Track.id.in_(tagged))
    rows = [(int(tid), int(n)) for tid, n in session.execute(query) if tid not in exclude]
    return rows[:limit]


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
