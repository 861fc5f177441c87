"""Shared builders for index tests: seeded clustered unit vectors and catalogue rows in a real database."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.store import put_embeddings
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.db.models import Track


def clustered(rng: np.random.Generator, n: int, dim: int, clusters: int = 30) -> np.ndarray:
    """Unit vectors around ``clusters`` random centres (structure like real embeddings, unlike pure noise)."""
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return unit_rows(x)


def exact_top(queries: np.ndarray, vectors: np.ndarray, ids: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Exact top-``k`` ids by brute force in NumPy (the reference every index is held to)."""
    if metric == "cosine":
        q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        order = np.argsort(-(q @ vectors.T), axis=1)
    else:
        dist = (queries**2).sum(1)[:, None] - 2 * queries @ vectors.T + (vectors**2).sum(1)[None, :]
        order = np.argsort(dist, axis=1)
    return ids[order[:, :k]]


def add_tracks(session: Session, vectors: np.ndarray, *, version: str = "v1", start: int = 0) -> np.ndarray:
    """Insert one ok track per vector with its ``m`` embedding; returns the track ids."""
    tracks = [Track(path=f"/music/{start + n}.wav", size=1, mtime=0.0, status="ok") for n in range(len(vectors))]
    session.add_all(tracks)
    session.flush()
    ids = np.array([t.id for t in tracks], dtype=np.int64)
    put_embeddings(session, "m", version, ids, vectors)
    session.flush()
    return ids
