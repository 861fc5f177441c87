"""The candidate loop of similar tracks, playlists and the radio: widen the pool, gather candidates, pick.

``pick`` gathers index neighbours in score order, checked against the in-memory track table, and ranks them
with ``ranking.select``; when filters and artist caps leave fewer than ``k`` picks it widens the pool
(``widened``) and tries again. ``Neighbours`` keeps each index search and each embedding read of one
request, and ``prefetch`` reads up front the embeddings the widening is expected to need. Embeddings come
from the index itself where it holds them exactly (``served_embeddings``), so a request on an up-to-date CPU
index usually makes no database query at all.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.store import track_embeddings
from soundalike.embed.unit_norm import unit_rows
from soundalike.recommend.filters import Filters
from soundalike.recommend.ranking import Candidate, SearchIndex, select
from soundalike.recommend.track_table import CatalogueIndex

MAX_POOL = 4096
MAX_WIDENINGS = 8
WIDEN = 4


@dataclass
class Pool:
    """Accepted candidates in index order, their artists, canonical audio and unit vectors (row-aligned)."""

    ids: list[int]
    artists: list[str | None]
    canonical: list[int]
    vectors: np.ndarray
    exhausted: bool
    albums: list[str | None]


Relevance = Callable[[np.ndarray], np.ndarray]
Score = Callable[[list[int], np.ndarray], tuple[np.ndarray, np.ndarray]]
"""Candidate ids and their unit vectors (row-aligned) -> (relevance of each, the group it serves)."""
Rescore = Callable[[list[int], np.ndarray], np.ndarray]
"""Candidate ids and their cosines to the queries (candidates x queries) -> the scores relevance reads instead."""
Choose = Callable[[list[Candidate], np.ndarray], list[int]]
"""Candidates and their unit vectors (row-aligned) -> the positions chosen, in pick order."""


@dataclass(frozen=True)
class Picked:
    """The outcome of the candidate loop: candidates in index order, their unit vectors (row-aligned) and the
    positions chosen, in the order they were picked."""

    candidates: list[Candidate]
    vectors: np.ndarray
    picked: list[int]

    def __iter__(self) -> Iterator[tuple[Candidate, np.ndarray]]:
        """Each chosen candidate with its unit vector, in pick order."""
        return ((self.candidates[p], self.vectors[p]) for p in self.picked)


def pick(
    session: Session,
    index: CatalogueIndex,
    queries: np.ndarray,
    k: int,
    *,
    pool: int,
    taken: Collection[int],
    filters: Filters,
    artist_cap: int | None,
    diversity: float,
    group_weights: Sequence[float],
    relevance: Relevance,
    rescore: Rescore | None = None,
) -> Picked:
    """The ``k`` best neighbours of the unit ``queries`` by MMR (fewer when the catalogue runs out).

    Candidates pass ``filters`` and are not in ``taken`` (by track or canonical audio). A candidate's group
    is its nearest query, its relevance is ``relevance`` of its cosines to the queries (candidates x queries),
    after ``rescore`` (e.g. segment re-ranking) when given;
    ``select`` interleaves the groups by ``group_weights`` and holds ``artist_cap``. The first try looks at
    ``pool`` neighbours for ``3 * k`` candidates; each try that picks fewer than ``k`` is widened.
    """
    neighbours = Neighbours(session, index, queries, taken)
    prefetch(neighbours, want=3 * k, pool=pool, filters=filters, k=k, artist_cap=artist_cap)

    def score(ids: list[int], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sims = vectors @ queries.T
        if rescore is not None:
            sims = rescore(ids, sims)
        return relevance(sims), sims.argmax(axis=1)

    def choose(candidates: list[Candidate], vectors: np.ndarray) -> list[int]:
        return select(
            candidates,
            vectors,
            k,
            diversity=diversity,
            artist_cap=artist_cap,
            group_weights=group_weights,
            taken=taken,
        )

    return widen_until_chosen(neighbours, k, want=3 * k, pool=pool, filters=filters, score=score, choose=choose)


def widen_until_chosen(
    nb: Neighbours, k: int, *, want: int, pool: int, filters: Filters, score: Score, choose: Choose
) -> Picked:
    """The candidate loop: gather ``want`` candidates passing ``filters`` from ``pool`` neighbours, ``score``
    them, let ``choose`` pick; while it picks fewer than ``k`` and the neighbours are not exhausted, widen
    (``widened``) and try again."""
    tries = widened(want, pool)
    while True:
        want_now, pool_now = next(tries)
        found = gather(nb, want=want_now, pool=pool_now, filters=filters)
        relevance, group = score(found.ids, found.vectors)
        candidates = [
            Candidate(t, float(relevance[i]), int(group[i]), found.artists[i], found.canonical[i], found.albums[i])
            for i, t in enumerate(found.ids)
        ]
        picked = choose(candidates, found.vectors)
        if len(picked) >= k or found.exhausted:
            return Picked(candidates, found.vectors, picked)


def widened(want: int, pool: int) -> Iterator[tuple[int, int]]:
    """(candidates wanted, neighbours searched) of each try: the first, then each ``WIDEN`` times wider."""
    while True:
        yield want, pool
        want, pool = want * WIDEN, pool * WIDEN


def served_embeddings(session: Session, index: SearchIndex, track_ids: Iterable[int]) -> dict[int, np.ndarray]:
    """Embeddings of ``track_ids``: from the index where it holds them exactly, the rest from the database
    in one query (tracks added since the index was built, stale vectors, quantised or GPU indexes)."""
    wanted = list(dict.fromkeys(int(t) for t in track_ids))
    found = index.vectors(wanted)
    rest = [t for t in wanted if t not in found]
    if rest:
        found.update(track_embeddings(session, index.meta.model_name, rest))
    return found


def pool_size(k: int, filters: Filters) -> int:
    """How many index neighbours to fetch first for ``k`` results: more when filters will drop some."""
    narrow = bool(filters.genres or filters.moods or filters.keys) or any(
        v is not None for v in (filters.tempo_min, filters.tempo_max, filters.year_min, filters.year_max)
    )
    return max(50, (16 if narrow else 4) * k) + len(filters.exclude)


def ranked_ids(index: SearchIndex, queries: np.ndarray, k: int, skip: Collection[int]) -> np.ndarray:
    """Ids of the top-``k`` of every query, best score over the queries first (ties: first seen), ``skip`` out."""
    ids, scores = index.search(queries, k)
    ids, scores = ids.ravel().astype(np.int64), scores.ravel().astype(np.float64)
    if index.meta.metric == "l2":
        scores = -scores
    keep = ids >= 0
    if skip:
        keep &= ~np.isin(ids, np.fromiter(skip, dtype=np.int64, count=len(skip)))
    ids, scores = ids[keep], scores[keep]
    unique, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    best = np.full(len(unique), -np.inf)
    np.maximum.at(best, inverse, scores)
    return unique[np.lexsort((first, -best))]


class Neighbours:
    """One request's view of the index: neighbour lists by pool size and embeddings, each read once."""

    def __init__(self, session: Session, index: CatalogueIndex, queries: np.ndarray, taken: Collection[int]) -> None:
        """Neighbours of ``queries``; tracks whose canonical audio is in ``taken`` never count."""
        self.session, self.index, self.queries, self.taken = session, index, queries, taken
        self.table = index.table
        self._taken = np.fromiter(taken, dtype=np.int64, count=len(taken))
        self._orders: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._vectors: dict[int, np.ndarray] = {}
        self._asked: set[int] = set()

    def order(self, pool: int, filters: Filters) -> tuple[np.ndarray, np.ndarray]:
        """(neighbour ids in score order, whether each passes ``filters`` and is not taken) for ``pool``."""
        size = min(pool, MAX_POOL)
        if size not in self._orders:
            order = ranked_ids(self.index, self.queries, size, self.taken)
            rows = self.table.rows(order)
            keep = self.table.accepts(filters, rows)
            keep &= ~np.isin(self.table.canonical(np.where(rows >= 0, rows, 0)), self._taken)
            self._orders[size] = (order, keep)
        return self._orders[size]

    def read(self, ids: Iterable[int]) -> bool:
        """Read the embeddings of the ids not read yet, in one query; False when there were none."""
        missing = [int(t) for t in ids if int(t) not in self._asked]
        if missing:
            self._vectors.update(served_embeddings(self.session, self.index, missing))
            self._asked.update(missing)
        return bool(missing)

    def has_vector(self, ids: np.ndarray) -> np.ndarray:
        """Whether each id has an embedding (ids not read yet are assumed to have one)."""
        return np.fromiter((t in self._vectors or t not in self._asked for t in ids.tolist()), bool, len(ids))

    def vector(self, track_id: int) -> np.ndarray:
        """The embedding read for a track."""
        return self._vectors[track_id]


def candidate_ids(nb: Neighbours, *, want: int, pool: int, filters: Filters) -> tuple[np.ndarray, bool]:
    """(accepted ids in index order, exhausted): the neighbours are checked a chunk at a time until ``want``
    are accepted; exhausted when fewer were found and a wider pool would not find more."""
    order, passes = nb.order(pool, filters)
    while True:
        chosen, enough = first_accepted(order, passes & nb.has_vector(order), want)
        if not nb.read(chosen.tolist()):
            break
    return chosen, not enough and runs_out(nb, len(order), pool)


def first_accepted(order: np.ndarray, keep: np.ndarray, want: int) -> tuple[np.ndarray, bool]:
    """(the kept ids of ``order`` up to the chunk where ``want`` are kept, whether that many were): the
    neighbours are counted a chunk at a time, so a few more than ``want`` may come back."""
    step = max(want, 32)
    ends = np.minimum(np.arange(step, len(order) + step, step), len(order))
    enough = np.flatnonzero(np.cumsum(keep)[ends - 1] >= want) if len(order) else np.zeros(0, np.int64)
    end = int(ends[enough[0]]) if len(enough) else len(order)
    return order[:end][keep[:end]], bool(len(enough))


def runs_out(nb: Neighbours, found: int, pool: int) -> bool:
    """Whether a wider pool than ``pool`` would find no neighbours beyond the ``found`` ones."""
    return found + len(nb.taken) < pool or pool >= min(MAX_POOL, nb.index.meta.count)


def gather(nb: Neighbours, *, want: int, pool: int, filters: Filters) -> Pool:
    """At least ``want`` playable candidates passing ``filters`` (fewer when the ``pool`` neighbours run out);
    a candidate whose canonical audio is taken is left out."""
    chosen, exhausted = candidate_ids(nb, want=want, pool=pool, filters=filters)
    ids: list[int] = chosen.tolist()
    rows = nb.table.rows(chosen)
    vectors = (
        unit_rows(np.stack([nb.vector(t) for t in ids])) if ids else np.zeros((0, nb.queries.shape[1]), np.float32)
    )
    artists = [nb.table.artist[r] for r in rows.tolist()]
    albums = [nb.table.album[r] for r in rows.tolist()]
    return Pool(ids, artists, nb.table.canonical(rows).tolist(), vectors, exhausted=exhausted, albums=albums)


def prefetch(nb: Neighbours, *, want: int, pool: int, filters: Filters, k: int, artist_cap: int | None) -> None:
    """Read at once the embeddings of every pool the widening loop is expected to try before it has ``k``
    tracks: distinct audio, at most ``artist_cap`` per artist, counted in index order."""
    wanted: list[np.ndarray] = []
    for want_now, pool_now in islice(widened(want, pool), MAX_WIDENINGS):
        order, passes = nb.order(pool_now, filters)
        chosen, enough = first_accepted(order, passes, want_now)
        wanted.append(chosen)
        if (not enough and runs_out(nb, len(order), pool_now)) or expected_picks(nb, chosen, artist_cap) >= k:
            break
    nb.read(np.concatenate(wanted).tolist())


def expected_picks(nb: Neighbours, ids: np.ndarray, artist_cap: int | None) -> int:
    """How many of ``ids`` a pick in index order could keep: one per audio, ``artist_cap`` per artist."""
    rows = nb.table.rows(ids)
    canonical: set[int] = set()
    per_artist: dict[str, int] = {}
    kept = 0
    for track, row in zip(nb.table.canonical(rows).tolist(), rows.tolist(), strict=True):
        if track in canonical:
            continue
        canonical.add(track)
        artist = nb.table.artist[row]
        if artist_cap is not None and artist:
            if per_artist.get(artist, 0) >= artist_cap:
                continue
            per_artist[artist] = per_artist.get(artist, 0) + 1
        kept += 1
    return kept
