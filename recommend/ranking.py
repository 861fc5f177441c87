"""Pure ranking over index results: candidate search, MMR with interleaved interests, caps and de-duplication."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from soundalike.index.track_index import IndexMeta
from soundalike.ingest.errors import InputError

NEAR_DUPLICATE_COSINE = 0.995


class SearchIndex(Protocol):
    """What ranking needs from an index: cosine top-k by track id, and its metadata."""

    @property
    def meta(self) -> IndexMeta:
        """Model name, dimension and size of the indexed vectors."""
        ...

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (track_ids, scores) per query row, best first; missing slots have id -1."""
        ...

    def vectors(self, track_ids: Iterable[int]) -> dict[int, np.ndarray]:
        """Indexed vectors of those ids the index can give back exactly (others come from the database)."""
        ...


@dataclass(frozen=True)
class Candidate:
    """One track that may be recommended: its relevance, the interest it serves, its artist and audio group."""

    track_id: int
    relevance: float
    group: int = 0
    artist: str | None = None
    canonical: int | None = None


def weighted_round_robin(weights: Sequence[float]) -> list[int]:
    """One cycle of smooth weighted round-robin over group indices: heavier groups come more often, in no long runs."""
    if not weights:
        return []
    w = np.maximum(np.asarray(weights, dtype=np.float64), 1e-9)
    current = np.zeros_like(w)
    order = []
    for _ in range(8 * len(w)):
        current += w
        pick = int(np.argmax(current))
        current[pick] -= w.sum()
        order.append(pick)
    return order


def select(
    candidates: Sequence[Candidate],
    vectors: np.ndarray,
    n: int,
    *,
    diversity: float = 0.0,
    artist_cap: int | None = None,
    group_weights: Sequence[float] | None = None,
    duplicate_cosine: float = NEAR_DUPLICATE_COSINE,
    taken: Collection[int] = (),
) -> list[int]:
    """Greedy maximal-marginal-relevance pick of ``n`` candidate positions.

    Each step serves the next group in weighted round-robin order (interests interleave) and takes the
    candidate of that group maximising ``(1 - diversity) * relevance - diversity * max_sim_to_picked``.
    A track whose canonical audio (``duplicate_of_id``) is already picked or in ``taken``, or whose vector is
    within ``duplicate_cosine`` of a picked one, counts once; no artist appears more than ``artist_cap`` times.
    """
    if n < 1:
        raise InputError(f"n must be >= 1, got {n}")
    if not 0.0 <= diversity <= 1.0:
        raise InputError(f"diversity must be within [0, 1], got {diversity}")
    if artist_cap is not None and artist_cap < 1:
        raise InputError(f"artist_cap must be >= 1, got {artist_cap}")
    if len(candidates) != len(vectors):
        raise InputError(f"{len(candidates)} candidates for {len(vectors)} vectors")
    if not candidates:
        return []
    groups = np.array([c.group for c in candidates])
    n_groups = int(groups.max()) + 1
    weights = list(group_weights) if group_weights is not None else [1.0] * n_groups
    order = weighted_round_robin(weights) or [0]
    scheduled = np.isin(groups, sorted(set(order)))
    relevance = np.array([c.relevance for c in candidates], dtype=np.float64)
    max_sim = np.full(len(candidates), -1.0)
    alive = np.ones(len(candidates), dtype=bool)
    seen_canonical = set(taken)
    artist_count: dict[str, int] = {}
    picked: list[int] = []
    step = 0
    while len(picked) < n and alive.any():
        group = order[step % len(order)]
        step += 1
        in_group = alive & (groups == group)
        if not in_group.any():
            if (alive & scheduled).any():
                continue
            in_group = alive
        score = (1.0 - diversity) * relevance - diversity * (max_sim if picked else 0.0)
        best = int(np.argmax(np.where(in_group, score, -np.inf)))
        alive[best] = False
        chosen = candidates[best]
        canonical = chosen.canonical if chosen.canonical is not None else chosen.track_id
        if canonical in seen_canonical or (picked and max_sim[best] >= duplicate_cosine):
            continue
        if artist_cap is not None and chosen.artist and artist_count.get(chosen.artist, 0) >= artist_cap:
            continue
        picked.append(best)
        seen_canonical.add(canonical)
        if chosen.artist:
            artist_count[chosen.artist] = artist_count.get(chosen.artist, 0) + 1
        max_sim = np.maximum(max_sim, vectors @ vectors[best])
    return picked


def intra_list_distance(vectors: np.ndarray) -> float:
    """Mean pairwise cosine distance of unit rows (0 for fewer than two)."""
    if len(vectors) < 2:
        return 0.0
    sims = vectors @ vectors.T
    upper = sims[np.triu_indices(len(vectors), k=1)]
    return float(np.mean(1.0 - upper))
