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
    """One track that may be recommended: its relevance, the interest it serves, its artist, audio group and album."""

    track_id: int
    relevance: float
    group: int = 0
    artist: str | None = None
    canonical: int | None = None
    album: str | None = None


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
    album_cap: int | None = None,
    group_weights: Sequence[float] | None = None,
    duplicate_cosine: float = NEAR_DUPLICATE_COSINE,
    taken: Collection[int] = (),
    before: np.ndarray | None = None,
) -> list[int]:
    """Greedy maximal-marginal-relevance pick of ``n`` candidate positions.

    Each step serves the next group in weighted round-robin order (interests interleave) and takes the
    candidate of that group maximising ``(1 - diversity) * relevance - diversity * max_sim_to_picked``.
    A track whose canonical audio (``duplicate_of_id``) is already picked or in ``taken``, or whose vector is
    within ``duplicate_cosine`` of a picked one, counts once; no artist appears more than ``artist_cap`` times,
    no album more than ``album_cap``. The unit rows of ``before`` (tracks already played, as in a radio) count
    as picked in the diversity and near-duplicate terms.
    """
    if n < 1:
        raise InputError(f"n must be >= 1, got {n}")
    if not 0.0 <= diversity <= 1.0:
        raise InputError(f"diversity must be within [0, 1], got {diversity}")
    for name, cap in (("artist_cap", artist_cap), ("album_cap", album_cap)):
        if cap is not None and cap < 1:
            raise InputError(f"{name} must be >= 1, got {cap}")
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
    if before is not None and len(before):
        max_sim = (vectors @ before.T).max(axis=1).astype(np.float64)
    against = before is not None and len(before) > 0
    alive = np.ones(len(candidates), dtype=bool)
    seen_canonical = set(taken)
    artist_count: dict[str, int] = {}
    album_count: dict[str, int] = {}
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
        score = (1.0 - diversity) * relevance - diversity * (max_sim if picked or against else 0.0)
        best = int(np.argmax(np.where(in_group, score, -np.inf)))
        alive[best] = False
        chosen = candidates[best]
        canonical = chosen.canonical if chosen.canonical is not None else chosen.track_id
        if canonical in seen_canonical or ((picked or against) and max_sim[best] >= duplicate_cosine):
            continue
        if artist_cap is not None and chosen.artist and artist_count.get(chosen.artist, 0) >= artist_cap:
            continue
        if album_cap is not None and chosen.album and album_count.get(chosen.album, 0) >= album_cap:
            continue
        picked.append(best)
        seen_canonical.add(canonical)
        if chosen.artist:
            artist_count[chosen.artist] = artist_count.get(chosen.artist, 0) + 1
        if chosen.album:
            album_count[chosen.album] = album_count.get(chosen.album, 0) + 1
        max_sim = np.maximum(max_sim, vectors @ vectors[best])
    return picked


def mix_segment_scores(
    sims: np.ndarray,
    seed_segments: Sequence[np.ndarray | None],
    candidate_segments: Sequence[np.ndarray | None],
    weight: float,
) -> np.ndarray:
    """(candidates, seeds) scores of track cosines ``sims`` re-ranked by best-matching segments.

    A pair's score is ``(1 - weight) * sims + weight * max_ij <s_i, c_j>``, the best cosine between the seed's
    and the candidate's unit segment rows: a candidate sharing one passage with the seed rises even when its
    track mean does not match. A pair where either side has no segments keeps its track cosine.
    """
    if not 0.0 <= weight <= 1.0:
        raise InputError(f"segment weight must be within [0, 1], got {weight}")
    if sims.shape != (len(candidate_segments), len(seed_segments)):
        raise InputError(
            f"scores of shape {sims.shape} for {len(candidate_segments)} candidates and {len(seed_segments)} seeds"
        )
    mixed = np.array(sims, dtype=np.float64)
    present = [(c, segments) for c, segments in enumerate(candidate_segments) if segments is not None and len(segments)]
    if not present:
        return mixed
    having = [c for c, _ in present]
    stacked = np.concatenate([segments for _, segments in present])
    starts = np.cumsum([0] + [len(segments) for _, segments in present[:-1]])
    for s, seed in enumerate(seed_segments):
        if seed is not None and len(seed):
            best = np.maximum.reduceat((seed @ stacked.T).max(axis=0), starts)
            mixed[having, s] = (1.0 - weight) * sims[having, s] + weight * best
    return mixed


def intra_list_distance(vectors: np.ndarray) -> float:
    """Mean pairwise cosine distance of unit rows (0 for fewer than two)."""
    if len(vectors) < 2:
        return 0.0
    sims = vectors @ vectors.T
    upper = sims[np.triu_indices(len(vectors), k=1)]
    return float(np.mean(1.0 - upper))
