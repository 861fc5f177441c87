"""Reading the genres attached to tracks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import GENRE_SOURCES, Genre, Track, TrackGenre
from soundalike.ingest.errors import InputError


def list_track_genres(session: Session, *, source: str | None = None) -> list[dict[str, object]]:
    """Every (track, genre, source, confidence, rejected) row, ordered by track id then source."""
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
    return [
        {
            "track_id": r.track_id,
            "path": r.path,
            "genre": r.name,
            "source": r.source,
            "confidence": r.confidence,
            "rejected": bool(r.rejected),
        }
        for r in session.execute(query)
    ]
