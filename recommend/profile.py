"""A listener's taste as vectors: recency-weighted plays, skips as negative signal, interests found by k-means."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import faiss
import numpy as np

from soundalike.embed.unit_norm import unit, unit_rows

SECONDS_PER_DAY = 86_400.0
RESTARTS = 3


@dataclass(frozen=True)
class Interest:
    """One cluster of a listener's tracks: its query vector, share of the listening and member tracks."""

    vector: np.ndarray
    weight: float
    members: list[int]


def play_weights(
    events: Sequence[tuple[int, datetime, bool]], *, half_life_days: float
) -> tuple[dict[int, float], dict[int, float]]:
    """(positive, negative) weight per track: each play adds ``0.5 ** (age / half_life)``; a completed play counts
    for the track, a skip against it. Each side is scaled so its most recent play weighs 1: only ratios within a
    side matter, and no spread of dates can make a side's weights all underflow to zero."""
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be > 0, got {half_life_days}")
    positive: dict[int, float] = {}
    negative: dict[int, float] = {}
    for skipped, bucket in ((False, positive), (True, negative)):
        side = [(track_id, played_at) for track_id, played_at, s in events if s == skipped]
        if not side:
            continue
        latest = max(played_at for _, played_at in side)
        for track_id, played_at in side:
            age_days = (latest - played_at).total_seconds() / SECONDS_PER_DAY
            bucket[track_id] = bucket.get(track_id, 0.0) + 0.5 ** (age_days / half_life_days)
    return positive, negative


def kmeans(
    vectors: np.ndarray, weights: np.ndarray, k: int, *, seed: int = 0, iterations: int = 25, restarts: int = RESTARTS
) -> np.ndarray:
    """Weighted spherical k-means (cosine) by FAISS, k-means++ seeded; returns a cluster label per row.

    FAISS seeds without the weights, so a light outlier can take a centre of its own: of ``restarts`` runs
    (seeds ``seed``, ``seed + 1``, ...) the one with the highest weighted cosine to its centres is kept.
    """
    n = len(vectors)
    if k < 1 or k > n:
        raise ValueError(f"k must be within [1, {n}], got {k}")
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    w = np.ascontiguousarray(weights, dtype=np.float32)
    best_score, best = -np.inf, np.zeros(n, dtype=np.int64)
    for attempt in range(restarts):
        clustering = faiss.Kmeans(
            x.shape[1],
            k,
            niter=iterations,
            seed=seed + attempt,
            spherical=True,
            min_points_per_centroid=1,
            max_points_per_centroid=n,
            init_method=faiss.ClusteringInitMethod_KMEANS_PLUS_PLUS,
        )
        clustering.train(x, weights=w)
        sims, labels = clustering.index.search(x, 1)
        score = float(w @ sims.ravel())
        if score > best_score:
            best_score, best = score, labels.ravel().astype(np.int64)
    return best


def silhouette(vectors: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette under cosine distance (-1 when there is a single cluster); singletons score 0."""
    clusters, labels = np.unique(labels, return_inverse=True)
    if len(clusters) < 2:
        return -1.0
    distance = 1.0 - vectors @ vectors.T
    onehot = np.eye(len(clusters))[labels]
    counts = onehot.sum(axis=0)
    sums = distance @ onehot
    rows = np.arange(len(vectors))
    own = counts[labels]
    a = sums[rows, labels] / np.maximum(own - 1, 1)
    means = sums / counts
    means[rows, labels] = np.inf
    b = means.min(axis=1)
    scores = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(scores.mean())


def choose_clusters(
    vectors: np.ndarray,
    weights: np.ndarray,
    *,
    max_k: int,
    min_silhouette: float,
    min_members: int = 3,
    seed: int = 0,
) -> np.ndarray:
    """Labels of the k in [1, max_k] with the best silhouette above ``min_silhouette`` and at least ``min_members``
    tracks per cluster (else one cluster): a stray track is not an interest."""
    best = np.zeros(len(vectors), dtype=int)
    best_score = min_silhouette
    for k in range(2, min(max_k, len(vectors) // min_members) + 1):
        labels = kmeans(vectors, weights, k, seed=seed)
        if np.bincount(labels, minlength=k).min() < min_members:
            continue
        score = silhouette(vectors, labels)
        if score > best_score:
            best, best_score = labels, score
    return best


def interests(
    track_ids: Sequence[int],
    vectors: np.ndarray,
    weights: np.ndarray,
    negatives: np.ndarray,
    negative_weights: np.ndarray,
    *,
    max_k: int = 3,
    min_silhouette: float = 0.25,
    skip_penalty: float = 0.3,
) -> list[Interest]:
    """The listener's interests, heaviest first: per cluster the weighted mean of its tracks minus
    ``skip_penalty`` times the weighted mean of skipped tracks (Rocchio), unit length."""
    if len(track_ids) == 0:
        return []
    vectors = unit_rows(vectors)
    labels = choose_clusters(vectors, weights, max_k=max_k, min_silhouette=min_silhouette)
    negative = np.zeros(vectors.shape[1], dtype=np.float32)
    if len(negatives):
        negative = (negative_weights[:, None] * unit_rows(negatives)).sum(axis=0) / negative_weights.sum()
    found = []
    total = float(weights.sum())
    for c in np.unique(labels):
        mask = labels == c
        positive = (weights[mask, None] * vectors[mask]).sum(axis=0) / weights[mask].sum()
        members = [int(t) for t, m in zip(track_ids, mask, strict=True) if m]
        found.append(Interest(unit(positive - skip_penalty * negative), float(weights[mask].sum()) / total, members))
    return sorted(found, key=lambda i: -i.weight)
