"""Repository functions for the catalogue; every function takes the session it works in."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import CURATED_SOURCES, GENRE_SOURCES, Feature, Genre, Track, TrackGenre
from soundalike.ingest.db.vectors import from_blob, to_blob
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.ingest.names import MAX_GENRE_NAME, check_name
from soundalike.ingest.paths import from_db_path
from soundalike.ingest.tags import normalise_genre
from soundalike.ingest.track_features import FEATURE_VERSIONS, TrackFeatures

NOTE_SEPARATOR = "; "


def get_track(session: Session, track_id: int) -> Track:
    """The track with this id, or NotFoundError."""
    track = session.get(Track, track_id)
    if track is None:
        raise NotFoundError(f"no track with id {track_id}")
    return track


def add_track_note(session: Session, track_id: int, note: str) -> None:
    """Append ``note`` to the track's notes unless it is already there."""
    track = get_track(session, track_id)
    notes = track.note.split(NOTE_SEPARATOR) if track.note else []
    if note not in notes:
        track.note = NOTE_SEPARATOR.join([*notes, note])


def track_by_path(session: Session, path: str) -> Track | None:
    """The track stored under this absolute path, if any."""
    return session.scalars(select(Track).where(Track.path == path)).one_or_none()


def find_genre(session: Session, name: str) -> Genre | None:
    """The genre row whose name matches ``name`` once both are normalised (``normalise_genre``), if any."""
    key = normalise_genre(name)
    for candidate in dict.fromkeys((name, key)):
        genre = session.scalars(select(Genre).where(Genre.name == candidate)).one_or_none()
        if genre is not None:
            return genre
    return next((g for g in session.scalars(select(Genre)) if normalise_genre(g.name) == key), None)


def get_or_create_genre(session: Session, name: str, *, curated: bool = False) -> Genre:
    """The genre row of ``name``, created on first use with the name as written; InputError for an empty,
    overlong or non-printable name.

    Spellings that normalise alike (``battle-themes``, ``Battle Themes``) are one genre. A ``curated`` name
    (a label's or curator's) replaces the plain normalised spelling file tags are stored under, unless a
    person already chose that spelling, so a label reads back as its curator wrote it.
    """
    written = check_name(name, what="genre", max_length=MAX_GENRE_NAME)
    key = normalise_genre(written)
    if not key:
        raise InputError(f"empty genre name {name!r}")
    genre = find_genre(session, written)
    if genre is None:
        genre = Genre(name=written)
        session.add(genre)
    elif curated and genre.name == key != written and not _chosen_by_a_person(session, genre.id):
        genre.name = written
    session.flush()
    return genre


def _chosen_by_a_person(session: Session, genre_id: int) -> bool:
    query = select(TrackGenre.id).where(TrackGenre.genre_id == genre_id, TrackGenre.source.in_(CURATED_SOURCES))
    return session.scalars(query.limit(1)).first() is not None


def set_track_genre(
    session: Session,
    track_id: int,
    genre_name: str,
    *,
    source: str,
    confidence: float | None = None,
    model_version: str | None = None,
) -> TrackGenre:
    """Attach a genre to a track from a source; repeating it updates confidence and version."""
    if source not in GENRE_SOURCES:
        raise InputError(f"genre source {source!r} is not one of {GENRE_SOURCES}")
    genre = get_or_create_genre(session, genre_name, curated=source in CURATED_SOURCES)
    row = session.scalars(
        select(TrackGenre).where(
            TrackGenre.track_id == track_id, TrackGenre.genre_id == genre.id, TrackGenre.source == source
        )
    ).one_or_none()
    if row is None:
        row = TrackGenre(track_id=track_id, genre_id=genre.id, source=source)
        session.add(row)
    row.confidence = confidence
    row.model_version = model_version
    session.flush()
    return row


def clear_track_genres(session: Session, track_id: int, *, source: str) -> None:
    """Remove the genres of one source from a track (e.g. before re-reading its tags)."""
    session.execute(delete(TrackGenre).where(TrackGenre.track_id == track_id, TrackGenre.source == source))


def set_feature(session: Session, track_id: int, name: str, version: str, vector: np.ndarray) -> None:
    """Store (or replace) a named feature vector of a track."""
    row = session.scalars(select(Feature).where(Feature.track_id == track_id, Feature.name == name)).one_or_none()
    if row is None:
        row = Feature(track_id=track_id, name=name)
        session.add(row)
    row.version = version
    row.dim = int(vector.shape[0])
    row.vector = to_blob(vector)


def set_track_features(session: Session, track_id: int, features: TrackFeatures) -> None:
    """Store (or replace) every feature vector ingestion computes for a track, each with its version."""
    vectors = features.vectors()
    rows = session.scalars(select(Feature).where(Feature.track_id == track_id, Feature.name.in_(vectors)))
    existing = {row.name: row for row in rows}
    for name, vector in vectors.items():
        row = existing.get(name)
        if row is None:
            row = Feature(track_id=track_id, name=name)
            session.add(row)
        row.version = FEATURE_VERSIONS[name]
        row.dim = int(vector.shape[0])
        row.vector = to_blob(vector)


def feature_matrix(session: Session, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(track_ids, vectors) of one named feature over all tracks with status ok, ordered by id."""
    rows = session.execute(
        select(Feature.track_id, Feature.dim, Feature.vector)
        .join(Track, Track.id == Feature.track_id)
        .where(Feature.name == name, Track.status == "ok")
        .order_by(Feature.track_id)
    ).all()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    ids = np.array([r.track_id for r in rows], dtype=np.int64)
    return ids, np.stack([from_blob(r.vector, r.dim) for r in rows])


def feature_vectors(session: Session, name: str, track_ids: Collection[int]) -> dict[int, np.ndarray]:
    """One named feature of each of ``track_ids`` that has it, in one query."""
    rows = session.execute(
        select(Feature.track_id, Feature.dim, Feature.vector).where(
            Feature.name == name, Feature.track_id.in_([int(t) for t in track_ids])
        )
    ).all()
    return {int(r.track_id): from_blob(r.vector, r.dim) for r in rows}


def tracks_missing_features(session: Session, names: Collection[str]) -> list[tuple[int, Path]]:
    """(id, file path) of ok tracks that lack any of the named features, by id (e.g. analysed before one existed)."""
    complete = (
        select(Feature.track_id)
        .where(Feature.name.in_(names))
        .group_by(Feature.track_id)
        .having(func.count(Feature.name.distinct()) == len(set(names)))
    )
    query = select(Track.id, Track.path).where(Track.status == "ok", Track.id.not_in(complete)).order_by(Track.id)
    return [(int(r.id), from_db_path(r.path)) for r in session.execute(query)]
