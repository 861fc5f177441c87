"""Embeddings in SQL: bulk write and read by model name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from soundalike.embed.decodable import each_decodable
from soundalike.ingest.db.models import Embedding, Track
from soundalike.ingest.db.vectors import from_blob, to_blob
from soundalike.ingest.errors import NotFoundError
from soundalike.ingest.paths import from_db_path


def _rows(model_name: str, model_version: str, track_ids: np.ndarray, vectors: np.ndarray) -> list[dict[str, object]]:
    if len(track_ids) != len(vectors):
        raise ValueError(f"{len(track_ids)} track ids for {len(vectors)} vectors")
    return [
        {
            "track_id": int(tid),
            "model_name": model_name,
            "model_version": model_version,
            "dim": int(vec.shape[0]),
            "vector": to_blob(vec),
        }
        for tid, vec in zip(track_ids, vectors, strict=True)
    ]


def put_embeddings(
    session: Session, model_name: str, model_version: str, track_ids: np.ndarray, vectors: np.ndarray
) -> int:
    """Insert or replace the embeddings of these tracks for ``model_name``; returns the number written."""
    rows = _rows(model_name, model_version, track_ids, vectors)
    session.execute(
        delete(Embedding).where(Embedding.model_name == model_name, Embedding.track_id.in_([int(t) for t in track_ids]))
    )
    if rows:
        session.execute(insert(Embedding), rows)
    return len(rows)


def replace_embeddings(
    session: Session, model_name: str, model_version: str, track_ids: np.ndarray, vectors: np.ndarray
) -> int:
    """Replace every embedding of ``model_name`` with these rows; returns the number written."""
    rows = _rows(model_name, model_version, track_ids, vectors)
    session.execute(delete(Embedding).where(Embedding.model_name == model_name))
    if rows:
        session.execute(insert(Embedding), rows)
    return len(rows)


def load_embeddings(session: Session, model_name: str) -> tuple[np.ndarray, np.ndarray, str | None]:
    """(track_ids, vectors, model_version) of one model over tracks with status ok, ordered by id."""
    rows = session.execute(
        select(Embedding.track_id, Embedding.dim, Embedding.vector, Embedding.model_version)
        .join(Track, Track.id == Embedding.track_id)
        .where(Embedding.model_name == model_name, Track.status == "ok")
        .order_by(Embedding.track_id)
    ).all()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), None
    ids = np.array([r.track_id for r in rows], dtype=np.int64)
    return ids, np.stack([from_blob(r.vector, r.dim) for r in rows]), rows[0].model_version


def track_embeddings(session: Session, model_name: str, track_ids: list[int]) -> dict[int, np.ndarray]:
    """Embeddings of the given tracks that exist, keyed by track id."""
    rows = session.execute(
        select(Embedding.track_id, Embedding.dim, Embedding.vector).where(
            Embedding.model_name == model_name, Embedding.track_id.in_(track_ids)
        )
    ).all()
    return {r.track_id: from_blob(r.vector, r.dim) for r in rows}


def track_embedding(session: Session, model_name: str, track_id: int) -> np.ndarray:
    """The embedding of one track, or NotFoundError if it has none."""
    found = track_embeddings(session, model_name, [track_id])
    if track_id not in found:
        raise NotFoundError(f"track {track_id} has no {model_name} embedding (run `soundalike index build`)")
    return found[track_id]


def embedding_version(session: Session, model_name: str) -> str | None:
    """The model version of the stored embeddings of ``model_name`` (None when there are none)."""
    return session.scalar(select(Embedding.model_version).where(Embedding.model_name == model_name).limit(1))


def has_other_version(session: Session, model_name: str, model_version: str) -> bool:
    """Whether any stored embedding of ``model_name`` has a version other than ``model_version``."""
    other = select(Embedding.track_id).where(
        Embedding.model_name == model_name, Embedding.model_version != model_version
    )
    return session.scalar(other.limit(1)) is not None


def stale_tracks(session: Session, model_name: str, model_version: str) -> list[tuple[int, Path]]:
    """(id, file path) of ok tracks with no embedding of this model name and version."""
    current = select(Embedding.track_id).where(
        Embedding.model_name == model_name, Embedding.model_version == model_version
    )
    query = select(Track.id, Track.path).where(Track.status == "ok", Track.id.not_in(current)).order_by(Track.id)
    return [(int(r.id), from_db_path(r.path)) for r in session.execute(query)]


def embed_stale_tracks(
    session: Session,
    model_name: str,
    model_version: str,
    embed_track: Callable[[int, Path], np.ndarray],
    *,
    on_track: Callable[[], None] | None = None,
) -> int:
    """Embed every stale track with ``embed_track(track_id, path)`` and store the vectors; returns the count.

    A track whose file cannot be decoded (any more) is left without an embedding.
    """
    done, vectors = [], []
    for (track_id, _path), vector in each_decodable(
        stale_tracks(session, model_name, model_version), lambda item: embed_track(*item), on_item=on_track
    ):
        done.append(track_id)
        vectors.append(vector)
    if done:
        put_embeddings(session, model_name, model_version, np.array(done, dtype=np.int64), np.stack(vectors))
    return len(done)
