"""Catalogue facts of tracks, read from the database in one way: the in-memory track table and catalogue
browsing are both built from ``read_facts``."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import Genre, Track, TrackGenre

CHUNK = 900


@dataclass(frozen=True)
class TrackFacts:
    """What ranking and explanations read about a track; tempo and key may be unknown (None)."""

    track_id: int
    path: str
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    year: int | None = None
    tempo: float | None = None
    key: str | None = None
    duplicate_of_id: int | None = None
    status: str = "ok"
    genres: frozenset[str] = frozenset()
    note: str | None = None
    """What to know about the track's analysis (a truncated file, audio looped to fill a patch)."""

    @property
    def canonical(self) -> int:
        """The track whose audio this is: ``duplicate_of_id`` when set, else itself."""
        return self.duplicate_of_id if self.duplicate_of_id is not None else self.track_id


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


def track_genres(session: Session, ids: Collection[int] | None = None) -> dict[int, frozenset[str]]:
    """Genres of each track (of every track when ``ids`` is None): any source's non-rejected genre, unless a
    curator rejected it."""
    query = select(*GENRE_COLUMNS).join(Genre, Genre.id == TrackGenre.genre_id)
    if ids is None:
        return _fold_genres(session.execute(query))
    return _fold_genres(
        row for chunk in _chunks(sorted(ids)) for row in session.execute(query.where(TrackGenre.track_id.in_(chunk)))
    )


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
    Track.note,
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
        note=row.note,
    )


def read_facts(session: Session, ids: Collection[int] | None = None) -> list[TrackFacts]:
    """Facts of the tracks that exist among ``ids`` (of every track when None), ordered by id."""
    genres = track_genres(session, ids)
    query = select(*FACT_COLUMNS).order_by(Track.id)
    if ids is None:
        rows: Iterable[Any] = session.execute(query)
    else:
        rows = (row for chunk in _chunks(sorted(ids)) for row in session.execute(query.where(Track.id.in_(chunk))))
    return [_facts(row, genres.get(row.id, frozenset())) for row in rows]


def track_facts(session: Session, ids: Collection[int]) -> dict[int, TrackFacts]:
    """Facts of the tracks that exist among ``ids``, keyed by id."""
    return {facts.track_id: facts for facts in read_facts(session, ids)}


def genre_rows(session: Session, track_id: int) -> list[dict[str, object]]:
    """Every genre row of a track with its source, confidence and rejected flag."""
    return genre_rows_of(session, [track_id]).get(track_id, [])


def genre_rows_of(session: Session, track_ids: Collection[int]) -> dict[int, list[dict[str, object]]]:
    """Every genre row of each of ``track_ids`` (source, confidence, rejected), by track; a track without any
    is absent."""
    found: dict[int, list[dict[str, object]]] = {}
    for chunk in _chunks(sorted(track_ids)):
        rows = session.execute(
            select(TrackGenre.track_id, Genre.name, TrackGenre.source, TrackGenre.confidence, TrackGenre.rejected)
            .join(Genre, Genre.id == TrackGenre.genre_id)
            .where(TrackGenre.track_id.in_(chunk))
            .order_by(TrackGenre.track_id, Genre.name, TrackGenre.source)
        )
        for t, n, s, c, r in rows:
            found.setdefault(int(t), []).append({"genre": n, "source": s, "confidence": c, "rejected": bool(r)})
    return found
