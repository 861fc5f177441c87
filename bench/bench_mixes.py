"""Mixes and mood search on synthetic catalogues: faiss k-means mixes vs HDBSCAN, and descriptor precision.

Data: the recipe of ``tests/support/recommend_fixtures.py`` at a larger size: ``GENRES`` genres, each with
``ALBUMS`` albums of ``TRACKS`` tracks; a track's vector is its genre's centre (standard normal, ``DIM``-d) plus
an album offset (album spread x standard normal) plus track noise (x standard normal). Two settings:
``clean`` (album spread 0.35, track noise 0.12, as in the test fixture) and ``hard`` (0.8 and 0.5: albums of one
genre reach into others, tracks spread within albums). Each genre owns ``MOODS_PER_GENRE`` of MusiCNN's 50 tags
(neighbouring genres share one); a track's probability of an owned tag is U(0.2, 0.9), of any other U(0, 0.5)
(the two overlap), each tag scaled by its own factor in [0.2, 1] (tags on different scales, as MusiCNN's are),
and ``EXTRA_TAG_SHARE`` of tracks get one random tag drawn high (label noise).

Mixes: ``recommend.mixes.cluster`` (spherical faiss k-means, k = n / 30, oversized split, clusters under 10
merged), plain faiss k-means at the same k (``profile.kmeans``, no split or merge), and scikit-learn HDBSCAN
(min_cluster_size 10, Euclidean on unit vectors = monotone in cosine; its noise points are reported apart and
left out of its silhouette and purity). Scores: silhouette under cosine (``profile.silhouette``), genre purity
(share of tracks in their cluster's majority genre), cluster count and size spread (min / median / max,
coefficient of variation).

Descriptor search: every single owned tag and every pair of one genre's tags is a query; a track is relevant
when its genre owns every named tag. Precision@10 of the product's ranking (``MoodTable.score``: mean
per-tag percentile), of the mean raw probability, and of a random order. Facets: the share of tracks carrying
each facet, and the facets' precision and recall against the owned tags.

Usage: ``python bench/bench_mixes.py --seeds 5``; prints a JSON report.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from collections.abc import Callable

import numpy as np
from sklearn.cluster import HDBSCAN

from soundalike.embed.unit_norm import unit_rows
from soundalike.recommend.mixes import TARGET_SIZE, cluster, mix_count
from soundalike.recommend.moods import MOOD_INDEX, MOODS, MoodTable
from soundalike.recommend.profile import kmeans, silhouette

GENRES = 8
ALBUMS = 5
TRACKS = 12
DIM = 16
MOODS_PER_GENRE = 3
EXTRA_TAG_SHARE = 0.1
SETTINGS = {"clean": (0.35, 0.12), "hard": (0.8, 0.5)}
"""(album spread, track noise) of each setting."""
OWNED = [MOODS[i] for i in range(GENRES * (MOODS_PER_GENRE - 1) + 1)]


def catalogue(seed: int, album_spread: float, track_noise: float) -> tuple[np.ndarray, np.ndarray]:
    """(unit vectors, genre per track)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((GENRES, DIM))
    vectors, genres = [], []
    for g in range(GENRES):
        for _ in range(ALBUMS):
            album = centres[g] + album_spread * rng.standard_normal(DIM)
            vectors += [album + track_noise * rng.standard_normal(DIM) for _ in range(TRACKS)]
            genres += [g] * TRACKS
    return unit_rows(np.array(vectors, dtype=np.float32)), np.array(genres)


def genre_tags(g: int) -> list[str]:
    """The tags genre ``g`` owns; genre g and g + 1 share one."""
    start = g * (MOODS_PER_GENRE - 1)
    return OWNED[start : start + MOODS_PER_GENRE]


def tag_probabilities(seed: int, genres: np.ndarray) -> np.ndarray:
    """(n, 50) synthetic tag probabilities: owned tags high, others low, per-tag scales, some label noise."""
    rng = np.random.default_rng(seed + 1000)
    scale = rng.uniform(0.2, 1.0, len(MOODS))
    p = rng.uniform(0, 0.5, (len(genres), len(MOODS)))
    for row, g in enumerate(genres):
        for tag in genre_tags(int(g)):
            p[row, MOOD_INDEX[tag]] = rng.uniform(0.2, 0.9)
        if rng.random() < EXTRA_TAG_SHARE:
            p[row, rng.integers(len(MOODS))] = rng.uniform(0.2, 0.9)
    return (p * scale).astype(np.float32)


def clustering_scores(vectors: np.ndarray, genres: np.ndarray, labels: np.ndarray, seconds: float) -> dict[str, float]:
    """Silhouette, purity, count and size spread over the clustered tracks (label >= 0)."""
    kept = labels >= 0
    x, g, labels = vectors[kept], genres[kept], labels[kept]
    sizes = np.unique(labels, return_counts=True)[1]
    purity = sum(np.bincount(g[labels == c]).max() for c in np.unique(labels)) / len(labels)
    return {
        "clusters": float(len(sizes)),
        "noise_share": float(1 - kept.mean()),
        "silhouette": silhouette(x, labels),
        "genre_purity": float(purity),
        "size_min": float(sizes.min()),
        "size_median": float(np.median(sizes)),
        "size_max": float(sizes.max()),
        "size_cv": float(sizes.std() / sizes.mean()),
        "seconds": seconds,
    }


def timed(run: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    labels = run()
    return np.asarray(labels), time.perf_counter() - start


def mixes_run(seed: int, album_spread: float, track_noise: float) -> dict[str, dict[str, float]]:
    """The three clusterings of one catalogue."""
    vectors, genres = catalogue(seed, album_spread, track_noise)
    n = len(vectors)
    runs = {
        "mixes (faiss k-means, split + merge)": lambda: cluster(vectors, seed=seed),
        "faiss k-means only": lambda: kmeans(
            vectors, np.ones(n, dtype=np.float32), mix_count(n, TARGET_SIZE), seed=seed
        ),
        "HDBSCAN (sklearn, min 10)": lambda: HDBSCAN(min_cluster_size=10, copy=True).fit_predict(vectors),
    }
    return {name: clustering_scores(vectors, genres, *timed(run)) for name, run in runs.items()}


def precision_at(order: np.ndarray, relevant: np.ndarray, k: int = 10) -> float:
    return float(relevant[order[:k]].mean())


def search_run(seed: int) -> dict[str, float]:
    """Descriptor precision@10 of three rankings, and facet precision / recall / share."""
    _, genres = catalogue(seed, *SETTINGS["clean"])
    p = tag_probabilities(seed, genres)
    table = MoodTable.build(p)
    rows = np.arange(len(genres))
    owns = np.array([[m in genre_tags(int(g)) for m in MOODS] for g in genres])
    queries = [[t] for t in OWNED] + [
        list(pair) for g in range(GENRES) for pair in itertools.combinations(genre_tags(g), 2)
    ]
    rng = np.random.default_rng(seed)
    scores: dict[str, list[float]] = {"percentile mean (product)": [], "raw probability mean": [], "random": []}
    for query in queries:
        columns = [MOOD_INDEX[m] for m in query]
        relevant = np.asarray(owns[:, columns].all(axis=1))
        scores["percentile mean (product)"].append(
            precision_at(np.argsort(-table.score(query, rows), kind="stable"), relevant)
        )
        scores["raw probability mean"].append(
            precision_at(np.argsort(-p[:, columns].mean(axis=1), kind="stable"), relevant)
        )
        scores["random"].append(precision_at(rng.permutation(len(rows)), relevant))
    owned_cols = [MOOD_INDEX[m] for m in OWNED]
    facet, truth = table.facet[:, owned_cols], owns[:, owned_cols]
    out = {f"P@10 {name}": float(np.mean(v)) for name, v in scores.items()}
    out["facet precision"] = float((facet & truth).sum() / max(facet.sum(), 1))
    out["facet recall"] = float((facet & truth).sum() / truth.sum())
    out["facet share of tracks (max over tags)"] = float(table.facet.mean(axis=0).max())
    out["tracks with no facet"] = float((~table.facet.any(axis=1)).mean())
    return out


def spread(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f} ± {statistics.pstdev(values):.3f}"


def main() -> None:
    """Run every seed and print means ± standard deviations over seeds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    report: dict[str, object] = {"tracks": GENRES * ALBUMS * TRACKS, "seeds": args.seeds}
    for setting, (album_spread, track_noise) in SETTINGS.items():
        runs = [mixes_run(seed, album_spread, track_noise) for seed in range(args.seeds)]
        report[f"mixes {setting}"] = {
            name: {metric: spread([r[name][metric] for r in runs]) for metric in runs[0][name]} for name in runs[0]
        }
    searches = [search_run(seed) for seed in range(args.seeds)]
    report["descriptor search"] = {metric: spread([s[metric] for s in searches]) for metric in searches[0]}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
