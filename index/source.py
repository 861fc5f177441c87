"""The embeddings table read for indexing: ids without vectors, or vectors in bounded chunks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.orm import Session

from soundalike.index.streamed_build import Chunk, ChunkSource
from soundalike.ingest.db.models import Embedding, Track
from soundalike.ingest.db.vectors import from_blob
from soundalike.ingest.errors import IndexMismatchError, NotFoundError

CHUNK_SIZE = 20_000
ID_BATCH = 5_000


@dataclass(frozen=True)
class Catalogue:
    """What the database holds for one model: indexable tracks (status ok) and their embedding rows."""

    model_name: str
    model_version: str
    dim: int
    track_ids: np.ndarray
    embedding_ids: np.ndarray

    @property
    def fingerprint(self) -> str:
        """A digest of (model version, track id, embedding row id) pairs: changes when any vector may have."""
        digest = hashlib.sha256(self.model_version.encode())
        digest.update(np.ascontiguousarray(self.track_ids, dtype="<i8").tobytes())
        digest.update(np.ascontiguousarray(self.embedding_ids, dtype="<i8").tobytes())
        return digest.hexdigest()[:16]


def _indexable(model_name: str) -> tuple[ColumnElement[bool], ...]:
    return (Embedding.model_name == model_name, Track.status == "ok")


def read_catalogue(session: Session, model_name: str) -> Catalogue:
    """Track and embedding-row ids of ``model_name`` over tracks with status ok, ordered by track id."""
    versions = session.execute(
        select(Embedding.model_version, Embedding.dim, func.count())
        .join(Track, Track.id == Embedding.track_id)
        .where(*_indexable(model_name))
        .group_by(Embedding.model_version, Embedding.dim)
    ).all()
    if not versions:
        raise NotFoundError(f"no {model_name} embeddings to index (run `soundalike ingest PATH` first)")
    if len(versions) > 1:
        found = ", ".join(f"{v.model_version} (dim {v.dim}): {v[2]}" for v in versions)
        raise IndexMismatchError(f"{model_name} embeddings mix versions or dims ({found}): refresh the embeddings")
    rows = session.execute(
        select(Embedding.track_id, Embedding.id)
        .join(Track, Track.id == Embedding.track_id)
        .where(*_indexable(model_name))
        .order_by(Embedding.track_id)
    ).all()
    ids = np.array(rows, dtype=np.int64).reshape(-1, 2)
    return Catalogue(model_name, versions[0].model_version, int(versions[0].dim), ids[:, 0], ids[:, 1])


def _chunk(rows: Sequence[Row[Any]], dim: int) -> Chunk:
    track_ids = np.array([r.track_id for r in rows], dtype=np.int64)
    embedding_ids = np.array([r.id for r in rows], dtype=np.int64)
    vectors = np.stack([from_blob(r.vector, dim) for r in rows]) if rows else np.zeros((0, dim), np.float32)
    return track_ids, embedding_ids, vectors


def vector_chunks(session: Session, catalogue: Catalogue, *, chunk_size: int = CHUNK_SIZE) -> ChunkSource:
    """All indexable vectors in track-id order, ``chunk_size`` rows per query (keyset pagination)."""

    def chunks() -> Iterator[Chunk]:
        last = -1
        while True:
            rows = session.execute(
                select(Embedding.track_id, Embedding.id, Embedding.vector)
                .join(Track, Track.id == Embedding.track_id)
                .where(*_indexable(catalogue.model_name), Embedding.track_id > last)
                .order_by(Embedding.track_id)
                .limit(chunk_size)
            ).all()
            if not rows:
                return
            last = rows[-1].track_id
            yield _chunk(rows, catalogue.dim)

    return chunks


def vectors_of(session: Session, catalogue: Catalogue, track_ids: np.ndarray) -> ChunkSource:
    """The vectors of the given tracks, in batches of ``ID_BATCH`` ids."""

    def chunks() -> Iterator[Chunk]:
        for start in range(0, len(track_ids), ID_BATCH):
            batch = [int(t) for t in track_ids[start : start + ID_BATCH]]
            rows = session.execute(
                select(Embedding.track_id, Embedding.id, Embedding.vector)
                .where(Embedding.model_name == catalogue.model_name, Embedding.track_id.in_(batch))
                .order_by(Embedding.track_id)
            ).all()
            yield _chunk(rows, catalogue.dim)

    return chunks
