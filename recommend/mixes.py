"""Mixes: the catalogue cut into listenable groups by k-means, each named and ordered (pure functions).

Clustering: spherical k-means (``profile.kmeans``) with k = tracks / ``TARGET_SIZE``; a cluster above
``SPLIT_FACTOR`` times the target is cut again by k-means, and clusters below ``MIN_SIZE`` are dissolved, each
member going to the nearest remaining centre, until none is left that small.
Naming: what dominates the mix: its assigned genres (one, or two that together hold most of it), up to two
moods most of its tracks carry, the middle half of its tempos and its decade(s).
Order: a greedy nearest-neighbour chain from the track farthest from the mix's centre, so each track is followed
by the closest one not yet played.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from soundalike.embed.unit_norm import unit, unit_rows
from soundalike.ingest.errors import InputError
from soundalike.recommend.profile import kmeans

TARGET_SIZE = 30
MIN_SIZE = 10
SPLIT_FACTOR = 2.0
GENRE_SHARE = 0.5
MOOD_SHARE = 0.4
MAX_MOODS = 2


def mix_count(n: int, target: int = TARGET_SIZE) -> int:
    """How many mixes ``n`` tracks make at about ``target`` tracks each (at least one)."""
    if target < 1:
        raise InputError(f"target mix size must be >= 1, got {target}")
    return max(1, round(n / target))


def _centres(vectors: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    return {int(c): unit(vectors[labels == c].mean(axis=0)) for c in np.unique(labels)}


def merge_small(vectors: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Dissolve the smallest cluster below ``min_size`` into the nearest other centres, member by member, until
    every cluster has ``min_size`` members or one cluster is left; labels renumbered 0..k-1 by first row."""
    labels = labels.copy()
    while True:
        clusters, counts = np.unique(labels, return_counts=True)
        if len(clusters) < 2 or counts.min() >= min_size:
            break
        smallest = int(clusters[np.argmin(counts)])
        centres = _centres(vectors, labels)
        others = [c for c in centres if c != smallest]
        matrix = np.stack([centres[c] for c in others])
        members = np.flatnonzero(labels == smallest)
        labels[members] = np.array(others)[np.argmax(vectors[members] @ matrix.T, axis=1)]
    return np.unique(labels, return_inverse=True)[1] if len(labels) else labels


def cluster(vectors: np.ndarray, *, target: int = TARGET_SIZE, min_size: int = MIN_SIZE, seed: int = 0) -> np.ndarray:
    """A mix label per row of ``vectors`` (cosine k-means, oversized clusters split, small ones merged)."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    x = unit_rows(np.asarray(vectors, dtype=np.float32))
    labels = kmeans(x, np.ones(n, dtype=np.float32), mix_count(n, target), seed=seed)
    next_label = int(labels.max()) + 1
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) > SPLIT_FACTOR * target:
            parts = kmeans(
                x[members], np.ones(len(members), dtype=np.float32), mix_count(len(members), target), seed=seed
            )
            labels[members[parts > 0]] = next_label + parts[parts > 0] - 1
            next_label += int(parts.max())
    return merge_small(x, labels, min(min_size, n))


def chain_order(vectors: np.ndarray) -> np.ndarray:
    """Row order for smooth listening: start at the row farthest from the centre, then always the nearest row
    not yet taken (cosine)."""
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    x = unit_rows(np.asarray(vectors, dtype=np.float32))
    sims = x @ x.T
    current = int(np.argmin(x @ unit(x.mean(axis=0))))
    order = [current]
    taken = np.zeros(n, dtype=bool)
    taken[current] = True
    for _ in range(n - 1):
        current = int(np.argmax(np.where(taken, -np.inf, sims[current])))
        order.append(current)
        taken[current] = True
    return np.array(order, dtype=np.int64)


@dataclass(frozen=True)
class MemberFacts:
    """What names a mix, per track: its assigned genre, its moods, tempo and year (each may be unknown)."""

    genre: str | None = None
    moods: tuple[str, ...] = ()
    tempo: float | None = None
    year: int | None = None


def _genre_part(members: Sequence[MemberFacts]) -> str | None:
    counts = Counter(m.genre for m in members if m.genre)
    top = counts.most_common(2)
    if not top:
        return None
    if top[0][1] >= GENRE_SHARE * len(members):
        return top[0][0].title()
    if len(top) == 2 and top[0][1] + top[1][1] >= GENRE_SHARE * len(members):
        return f"{top[0][0].title()} & {top[1][0].title()}"
    return None


def _mood_part(members: Sequence[MemberFacts], genre: str | None) -> str | None:
    counts = Counter(mood for m in members for mood in m.moods)
    named = (genre or "").lower()
    moods = [mood for mood, n in counts.most_common() if n >= MOOD_SHARE * len(members) and mood not in named]
    return ", ".join(moods[:MAX_MOODS]) or None


def _tempo_part(members: Sequence[MemberFacts]) -> str | None:
    tempos = [m.tempo for m in members if m.tempo is not None and m.tempo > 0]
    if len(tempos) < max(1, len(members) // 2):
        return None
    low, high = (int(5 * round(q / 5)) for q in np.percentile(tempos, [25, 75]))
    return f"{low} bpm" if low == high else f"{low}-{high} bpm"


def _era_part(members: Sequence[MemberFacts]) -> str | None:
    years = [m.year for m in members if m.year]
    if len(years) < max(1, len(members) // 2):
        return None
    low, high = (int(q) // 10 * 10 for q in np.percentile(years, [10, 90]))
    return f"{low}s" if low == high else f"{low}s-{high}s"


def name_mix(members: Sequence[MemberFacts]) -> str:
    """A name from what dominates the mix: genre(s), moods, tempo range, era, joined by " · " ("Jazz · mellow ·
    90-110 bpm · 1990s"); "Mixed" when nothing dominates."""
    genre = _genre_part(members)
    parts = [p for p in (genre, _mood_part(members, genre), _tempo_part(members), _era_part(members)) if p]
    return " · ".join(parts) or "Mixed"


def distinct_names(names: Sequence[str]) -> list[str]:
    """The names with a repeated one numbered (" 2", " 3", ...) so every mix is told apart."""
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return out


def continuing_ids(old: Mapping[int, Sequence[int]], new: Sequence[Sequence[int]]) -> list[int | None]:
    """For each new mix (its track ids), the id of the old mix it continues, else None: pairs are taken by most
    shared tracks first, each old id once, and only when they share at least half of the new mix, so a refresh
    keeps the ids (and a media server's playlists) of mixes that barely changed."""
    sets = [set(tracks) for tracks in new]
    pairs = sorted(
        ((len(sets[i] & set(tracks)), mix_id, i) for mix_id, tracks in old.items() for i in range(len(new))),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    found: list[int | None] = [None] * len(new)
    used: set[int] = set()
    for shared, mix_id, i in pairs:
        if 2 * shared >= len(sets[i]) > 0 and found[i] is None and mix_id not in used:
            found[i] = mix_id
            used.add(mix_id)
    return found


@dataclass(frozen=True)
class PlannedMix:
    """A mix before it is stored: its name and track ids in listening order."""

    name: str
    track_ids: list[int]


def plan_mixes(
    track_ids: np.ndarray,
    vectors: np.ndarray,
    facts: Sequence[MemberFacts],
    *,
    target: int = TARGET_SIZE,
    min_size: int = MIN_SIZE,
    seed: int = 0,
) -> list[PlannedMix]:
    """Cluster, order and name mixes of the tracks (rows of ``vectors``, ``facts`` aligned), largest first."""
    if not (len(track_ids) == len(vectors) == len(facts)):
        raise InputError(
            f"track ids, vectors and facts differ in length: {len(track_ids)}, {len(vectors)}, {len(facts)}"
        )
    labels = cluster(vectors, target=target, min_size=min_size, seed=seed)
    groups = sorted((np.flatnonzero(labels == c) for c in np.unique(labels)), key=lambda rows: (-len(rows), rows[0]))
    ordered = [rows[chain_order(vectors[rows])] for rows in groups]
    names = distinct_names([name_mix([facts[r] for r in rows]) for rows in ordered])
    return [PlannedMix(name, [int(track_ids[r]) for r in rows]) for name, rows in zip(names, ordered, strict=True)]
