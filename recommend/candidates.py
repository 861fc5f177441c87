"""Candidate gathering: index neighbours in score order, checked against the catalogue a chunk at a time."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.store import track_embeddings
from soundalike.recommend.catalogue import track_facts
from soundalike.recommend.filters import Filters, TrackFacts
from soundalike.recommend.ranking import SearchIndex, unit_rows

MAX_POOL = 4096


@dataclass
class Pool:
    """Accepted candidates in index order, their catalogue facts and unit vectors (row-aligned)."""

    ids: list[int]
    facts: dict[int, TrackFacts]
    vectors: np.ndarray
    exhausted: bool


def pool_size(k: int, filters: Filters) -> int:
    """How many index neighbours to fetch first for ``k`` results: more when filters will drop some."""
    narrow = bool(filters.genres or filters.keys) or any(
        v is not None for v in (filters.tempo_min, filters.tempo_max, filters.year_min, filters.year_max)
    )
    return max(50, (16 if narrow else 4) * k) + len(filters.exclude)


def ranked_ids(index: SearchIndex, queries: np.ndarray, k: int, skip: Collection[int]) -> list[int]:
    """Ids of the top-``k`` of every query, best score over the queries first, ``skip`` left out."""
    ids, scores = index.search(queries, k)
    sign = -1.0 if index.meta.metric == "l2" else 1.0
    best: dict[int, float] = {}
    for tid, score in zip(ids.ravel(), scores.ravel(), strict=True):
        t = int(tid)
        if t >= 0 and t not in skip:
            best[t] = max(best.get(t, -np.inf), sign * float(score))
    return sorted(best, key=lambda t: -best[t])


def gather(
    session: Session,
    index: SearchIndex,
    queries: np.ndarray,
    *,
    want: int,
    pool: int,
    filters: Filters,
    taken: Collection[int],
) -> Pool:
    """At least ``want`` playable candidates passing ``filters`` (fewer when the ``pool`` neighbours run out);
    a candidate whose canonical audio is in ``taken`` is left out."""
    order = ranked_ids(index, queries, min(pool, MAX_POOL), taken)
    step = max(want, 32)
    accepted: list[int] = []
    facts: dict[int, TrackFacts] = {}
    vectors: dict[int, np.ndarray] = {}
    for lo in range(0, len(order), step):
        chunk = order[lo : lo + step]
        found = track_facts(session, chunk)
        found_vectors = track_embeddings(session, index.meta.model_name, chunk)
        for t in chunk:
            f = found.get(t)
            if f is not None and t in found_vectors and f.canonical not in taken and filters.accepts(f):
                accepted.append(t)
                facts[t] = f
                vectors[t] = found_vectors[t]
        if len(accepted) >= want:
            return Pool(accepted, facts, _matrix(accepted, vectors, queries.shape[1]), exhausted=False)
    exhausted = len(order) + len(taken) < pool or pool >= min(MAX_POOL, index.meta.count)
    return Pool(accepted, facts, _matrix(accepted, vectors, queries.shape[1]), exhausted=exhausted)


def _matrix(ids: list[int], vectors: dict[int, np.ndarray], dim: int) -> np.ndarray:
    if not ids:
        return np.zeros((0, dim), dtype=np.float32)
    return unit_rows(np.stack([vectors[t] for t in ids]))
