"""Evaluation in the mir_eval shape: ``validate_*`` raises on malformed input, ``evaluate_*`` returns scores.

Genre tagging is scored on held-out tracks (accuracy, macro-F1, per-class precision/recall/F1, confusion
matrix, expected calibration error); retrieval is scored on excerpts (other excerpts of the same track are
the relevant items: recall@k, mean average precision; per excerpt, same-track hit at 1 and same-album
precision@k among other tracks' excerpts) and on whole tracks (same-album precision@k). A cluster bootstrap
gives the spread of a mean over items that come in correlated groups (excerpts of one track).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np

from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.errors import InputError


def validate_classification(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> None:
    """Raise InputError unless both are equal-length, non-empty 1-d class indices in ``[0, n_classes)``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.ndim != 1 or y_true.shape != y_pred.shape:
        raise InputError(f"need equal-length 1-d labels, got shapes {y_true.shape} and {y_pred.shape}")
    if y_true.size == 0:
        raise InputError("no items to evaluate")
    for name, values in (("reference", y_true), ("estimate", y_pred)):
        if not np.issubdtype(values.dtype, np.integer) or values.min() < 0 or values.max() >= n_classes:
            raise InputError(f"{name} labels must be class indices in [0, {n_classes}), got {values[:5]}...")


def _confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts: row = reference class, column = estimated class."""
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return confusion


def _class_scores(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class (precision, recall, F1, support); 0 where a class is never predicted or never right."""
    tp = np.diag(confusion).astype(np.float64)
    support, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=tp > 0)
    return precision, recall, f1, support


def _macro_f1(confusion: np.ndarray) -> float:
    _, _, f1, support = _class_scores(confusion)
    return float(np.mean(f1[support > 0]))


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Unweighted mean F1 over the classes present in the reference ``y_true``.

    A reference class never predicted scores 0; a class only predicted (absent from the reference)
    is left out of the mean.
    """
    validate_classification(y_true, y_pred, n_classes)
    return _macro_f1(_confusion(y_true, y_pred, n_classes))


class Reliability(NamedTuple):
    """Calls per non-empty equal-width confidence bin ((0, 1/n], ..., ((n-1)/n, 1]): the bin's index, its
    calls' mean confidence, the share of them that were right, and how many there were."""

    bins: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    calls: np.ndarray


def reliability(confidence: np.ndarray, correct: np.ndarray, *, n_bins: int = 10) -> Reliability:
    """Bin calls by confidence (a call's probability of its class) with whether each was right."""
    confidence, correct = np.asarray(confidence, np.float64), np.asarray(correct, bool)
    if confidence.ndim != 1 or confidence.shape != correct.shape or not confidence.size:
        raise InputError(f"need one right/wrong per confidence, got {confidence.shape} and {correct.shape}")
    bins = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    used = np.unique(bins)
    return Reliability(
        used,
        np.array([confidence[bins == b].mean() for b in used]),
        np.array([correct[bins == b].mean() for b in used]),
        np.array([int((bins == b).sum()) for b in used]),
    )


def calibration_error(confidence: np.ndarray, correct: np.ndarray, *, n_bins: int = 10) -> float:
    """Expected calibration error of calls: the gap between confidence and accuracy, averaged over equal-width
    confidence bins weighted by how many calls fall in each (``reliability``)."""
    table = reliability(confidence, correct, n_bins=n_bins)
    return float(np.sum(table.calls * np.abs(table.accuracy - table.confidence)) / table.calls.sum())


def expected_calibration_error(y_true: np.ndarray, probs: np.ndarray, *, n_bins: int = 10) -> float:
    """Expected calibration error of class probabilities (``calibration_error``).

    A call's confidence is its highest class probability; it is right when that class is ``y_true``.
    """
    probs = np.atleast_2d(np.asarray(probs, np.float64))
    validate_classification(np.asarray(y_true), probs.argmax(axis=1), probs.shape[1])
    return calibration_error(probs.max(axis=1), probs.argmax(axis=1) == np.asarray(y_true), n_bins=n_bins)


def evaluate_classification(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict[str, object]:
    """Accuracy, macro-F1 (over classes present in the reference), per-class scores and confusion matrix."""
    validate_classification(y_true, y_pred, len(classes))
    confusion = _confusion(y_true, y_pred, len(classes))
    precision, recall, f1, support = _class_scores(confusion)
    per_class: list[dict[str, object]] = [
        {
            "genre": name,
            "precision": float(precision[c]),
            "recall": float(recall[c]),
            "f1": float(f1[c]),
            "support": int(support[c]),
        }
        for c, name in enumerate(classes)
    ]
    return {
        "n": int(np.asarray(y_true).size),
        "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))),
        "macro_f1": _macro_f1(confusion),
        "per_class": per_class,
        "classes": list(classes),
        "confusion": confusion.tolist(),
    }


def validate_retrieval(vectors: np.ndarray, items: np.ndarray) -> None:
    """Raise InputError unless ``vectors`` is a finite (n, d) matrix with one item id per row, n >= 2."""
    vectors, items = np.asarray(vectors), np.asarray(items)
    if vectors.ndim != 2 or items.ndim != 1 or len(vectors) != len(items):
        raise InputError(f"need an (n, d) matrix and n item ids, got {vectors.shape} and {items.shape}")
    if len(vectors) < 2:
        raise InputError(f"need at least 2 vectors to rank, got {len(vectors)}")
    if not np.all(np.isfinite(vectors)):
        raise InputError("vectors contain NaN or infinity")


Metric = Literal["cosine", "euclidean"]


def _similarity(vectors: np.ndarray, metric: Metric) -> np.ndarray:
    """(n, n) similarities, higher is nearer (cosine, or minus squared Euclidean distance); -inf on the diagonal."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if metric == "cosine":
        unit = unit_rows(vectors)
        scores = unit @ unit.T
    elif metric == "euclidean":
        squared = (vectors * vectors).sum(axis=1)
        scores = -(squared[:, None] + squared[None, :] - 2 * vectors @ vectors.T)
    else:
        raise InputError(f"metric must be cosine or euclidean, got {metric!r}")
    np.fill_diagonal(scores, -np.inf)
    return scores


def _cosine_ranking(vectors: np.ndarray) -> np.ndarray:
    """For each row, the other rows ordered by decreasing cosine similarity (self excluded)."""
    return np.argsort(-_similarity(vectors, "cosine"), axis=1, kind="stable")[:, :-1]


def evaluate_retrieval(vectors: np.ndarray, items: np.ndarray, *, ks: tuple[int, ...] = (1, 10)) -> dict[str, float]:
    """Recall@k (a relevant item in the top k) and mAP, querying with each row that has a relevant item."""
    validate_retrieval(vectors, items)
    items = np.asarray(items)
    ranking = _cosine_ranking(np.asarray(vectors, dtype=np.float64))
    relevant = items[ranking] == items[:, None]
    queries = relevant.any(axis=1)
    if not queries.any():
        raise InputError("no item has a second vector: nothing is relevant to any query")
    relevant = relevant[queries]
    hits = np.cumsum(relevant, axis=1)
    precision_at_hit = np.where(relevant, hits / np.arange(1, relevant.shape[1] + 1), 0.0)
    scores = {f"recall@{k}": float(relevant[:, :k].any(axis=1).mean()) for k in ks}
    scores["map"] = float((precision_at_hit.sum(axis=1) / relevant.sum(axis=1)).mean())
    scores["n_queries"] = int(queries.sum())
    return scores


def group_precision(vectors: np.ndarray, groups: list[str | None], *, k: int = 10) -> float | None:
    """Mean share of same-group tracks among each track's k nearest others (tracks whose group has >= 2).

    ``k`` shrinks to the number of other tracks; None when no group has two tracks.
    """
    validate_retrieval(vectors, np.arange(len(groups)))
    ranking = _cosine_ranking(np.asarray(vectors, dtype=np.float64))[:, : min(k, len(groups) - 1)]
    labels = np.array([g if g else f"\0{n}" for n, g in enumerate(groups)], dtype=object)
    counts = {g: int(np.sum(labels == g)) for g in set(labels)}
    queries = [n for n, g in enumerate(labels) if counts[g] >= 2]
    if not queries:
        return None
    return float(np.mean([np.mean(labels[ranking[n]] == labels[n]) for n in queries]))


def excerpt_neighbour_scores(
    vectors: np.ndarray, tracks: list[str], albums: list[str], *, k: int = 10, metric: Metric = "cosine"
) -> tuple[np.ndarray, np.ndarray]:
    """Per excerpt: (same-track hit, same-album precision@k), NaN where undefined.

    The hit is 1 when the nearest other excerpt is of the same track (NaN for a track's only excerpt). The
    precision is the share from the excerpt's album among its ``k`` nearest excerpts of other tracks (its own
    track's excerpts are left out, so it measures style, not identity); ``k`` shrinks to how many there are.
    """
    validate_retrieval(vectors, np.arange(len(tracks)))
    if len(albums) != len(tracks):
        raise InputError(f"{len(tracks)} track names for {len(albums)} album names")
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    track, album = np.asarray(tracks, dtype=object), np.asarray(albums, dtype=object)
    scores = _similarity(vectors, metric)
    same_track = track[:, None] == track[None, :]
    has_other = same_track.sum(axis=1) >= 2
    hit = np.where(has_other, (track[scores.argmax(axis=1)] == track).astype(np.float64), np.nan)
    ranked = np.argsort(-np.where(same_track, -np.inf, scores), axis=1, kind="stable")
    precision = np.full(len(track), np.nan)
    for n in range(len(track)):
        others = len(track) - int(same_track[n].sum())
        if others:
            top = ranked[n, : min(k, others)]
            precision[n] = float(np.mean(album[top] == album[n]))
    return hit, precision


def cluster_bootstrap_mean(values: np.ndarray, clusters: list[str], *, seed: int) -> float:
    """One bootstrap replicate of the mean of ``values`` (NaN ignored): clusters drawn with replacement, as many
    as there are, each bringing all its items, so correlated items (excerpts of one track) stay together."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) != len(clusters):
        raise InputError(f"need one cluster per value, got {values.shape} values and {len(clusters)} clusters")
    names = sorted(set(clusters))
    if not names:
        raise InputError("no values to resample")
    members = {name: np.flatnonzero(np.asarray(clusters, dtype=object) == name) for name in names}
    drawn = np.random.default_rng(seed).choice(len(names), size=len(names), replace=True)
    picked = values[np.concatenate([members[names[d]] for d in drawn])]
    picked = picked[~np.isnan(picked)]
    if not len(picked):
        raise InputError("every resampled value is NaN")
    return float(picked.mean())
