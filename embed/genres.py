"""Reading the genres attached to tracks, and the one genre each track is assigned.

The taxonomy is the set of genres people chose: label genres and accepted curator genres. File tags are
evidence: a tag counts for training where it names a taxonomy genre (spellings are matched when genres are
stored, see ``get_or_create_genre``) and is otherwise ignored. A track's assigned genre follows the
precedence label > curator > predicted > tag; a genre a curator rejected for a track is never assigned, nor is a
suggestion (a call the genre head was not sure enough of).
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import CURATED_SOURCES, GENRE_SOURCES, Genre, Track, TrackGenre
from soundalike.ingest.errors import InputError

PRECEDENCE = ("label", "curator", "predicted", "tag")


class GenreRow(NamedTuple):
    """One genre attached to one track."""

    track_id: int
    path: str
    genre: str
    source: str
    confidence: float | None
    rejected: bool


def genre_rows(session: Session, *, source: str | None = None) -> list[GenreRow]:
    """Every (track, genre, source, confidence, rejected) row, ordered by track id, source, then genre."""
    if source is not None and source not in GENRE_SOURCES:
        raise InputError(f"source {source!r} is not one of {GENRE_SOURCES}")
    query = (
        select(
            TrackGenre.track_id, Track.path, Genre.name, TrackGenre.source, TrackGenre.confidence, TrackGenre.rejected
        )
        .join(Track, Track.id == TrackGenre.track_id)
        .join(Genre, Genre.id == TrackGenre.genre_id)
        .order_by(TrackGenre.track_id, TrackGenre.source, Genre.name)
    )
    if source is not None:
        query = query.where(TrackGenre.source == source)
    return [GenreRow(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in session.execute(query)]


def taxonomy(rows: list[GenreRow]) -> set[str]:
    """The genres people chose: label genres and accepted curator genres."""
    return {r.genre for r in rows if r.source in CURATED_SOURCES and not r.rejected}


def evidence(rows: list[GenreRow]) -> list[GenreRow]:
    """The rows that speak for the taxonomy: label and curator rows, and file tags naming a taxonomy genre."""
    classes = taxonomy(rows)
    return [r for r in rows if r.source in CURATED_SOURCES or (r.source == "tag" and r.genre in classes)]


def assigned_genres(rows: list[GenreRow]) -> dict[int, GenreRow]:
    """Track id -> its assigned row by ``PRECEDENCE``; ties go to the first genre by name.

    Rejected rows, suggestions and genres a curator rejected for the track are skipped.
    """
    refused = {(r.track_id, r.genre) for r in rows if r.source == "curator" and r.rejected}
    best: dict[int, GenreRow] = {}
    for row in rows:
        if row.rejected or row.source not in PRECEDENCE or (row.track_id, row.genre) in refused:
            continue
        held = best.get(row.track_id)
        rank = PRECEDENCE.index(row.source)
        if held is None or (rank, row.genre) < (PRECEDENCE.index(held.source), held.genre):
            best[row.track_id] = row
    return dict(sorted(best.items()))


def shown_confidence(confidence: float | None) -> float | None:
    """A confidence rounded to 3 decimals; below 1 it never shows as 1.0 (0.9999996 shows as 0.999)."""
    if confidence is None:
        return None
    return min(round(confidence, 3), 0.999) if confidence < 1.0 else 1.0


def list_track_genres(session: Session, *, source: str | None = None, every: bool = False) -> list[dict[str, object]]:
    """Each track's assigned genre with its source (``every``: every row, rejected ones included), optionally
    of one source only, ordered by track id."""
    rows = genre_rows(session, source=source if every else None)
    chosen = rows if every else [r for r in assigned_genres(rows).values() if source in (None, r.source)]
    return [
        {
            "track_id": r.track_id,
            "path": r.path,
            "genre": r.genre,
            "source": r.source,
            "confidence": shown_confidence(r.confidence),
            "rejected": r.rejected,
        }
        for r in chosen
    ]
