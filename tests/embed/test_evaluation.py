"""Evaluation scores: validate raises on malformed input, evaluate matches hand-computed values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from soundalike.embed.evaluation import (
    calibration_error,
    cluster_bootstrap_mean,
    evaluate_classification,
    evaluate_retrieval,
    excerpt_neighbour_scores,
    group_precision,
    macro_f1,
    reliability,
    validate_classification,
    validate_retrieval,
)
from soundalike.embed.plots import confusion_png, curves_png, embedding_map_png
from soundalike.ingest.errors import InputError


def test_classification_scores_match_hand_computed_values() -> None:
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    scores = evaluate_classification(y_true, y_pred, ["a", "b", "c"])
    assert scores["accuracy"] == pytest.approx(4 / 6)
    per = {r["genre"]: r for r in scores["per_class"]}  # type: ignore[union-attr]
    assert per["a"]["precision"] == 1.0 and per["a"]["recall"] == pytest.approx(2 / 3)
    assert per["b"]["precision"] == 0.5 and per["b"]["recall"] == 0.5
    assert per["c"]["precision"] == 0.5 and per["c"]["recall"] == 1.0
    f1 = [0.8, 0.5, 2 / 3]
    assert scores["macro_f1"] == pytest.approx(np.mean(f1))
    assert scores["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


def test_macro_f1_averages_over_reference_classes_and_a_never_predicted_one_scores_zero() -> None:
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 0, 0, 2])  # class 1 is never predicted; class 2 is absent from the reference
    assert macro_f1(y_true, y_pred, 3) == pytest.approx((0.8 + 0.0) / 2)
    assert evaluate_classification(y_true, y_pred, ["a", "b", "c"])["macro_f1"] == macro_f1(y_true, y_pred, 3)


@pytest.mark.parametrize(
    ("y_true", "y_pred"),
    [
        (np.array([0, 1]), np.array([0])),
        (np.array([], dtype=int), np.array([], dtype=int)),
        (np.array([0, 3]), np.array([0, 1])),
        (np.array([0.0, 1.0]), np.array([0, 1])),
        (np.array([[0, 1]]), np.array([[0, 1]])),
    ],
)
def test_validate_classification_rejects_malformed_labels(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    with pytest.raises(InputError):
        validate_classification(y_true, y_pred, 3)


def test_retrieval_perfect_and_reversed_rankings() -> None:
    items = np.array([0, 0, 1, 1, 2, 2])
    clustered = np.repeat(np.eye(3), 2, axis=0) + 0.01 * np.arange(6)[:, None]
    perfect = evaluate_retrieval(clustered, items)
    assert perfect["recall@1"] == 1.0 and perfect["map"] == 1.0 and perfect["n_queries"] == 6
    shuffled = np.repeat(np.eye(3), 2, axis=0)[[0, 2, 4, 1, 3, 5]]
    worst = evaluate_retrieval(shuffled, items)
    assert worst["recall@1"] == 0.0
    assert worst["map"] < 0.5


def test_retrieval_map_of_a_known_ranking() -> None:
    # the query's relevant item comes second of three for every query: AP = 1/2
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]])
    items = np.array([0, 0, 1])
    scores = evaluate_retrieval(vectors, items, ks=(1, 2))
    assert scores["n_queries"] == 2
    assert scores["recall@1"] == 0.0 and scores["recall@2"] == 1.0
    assert scores["map"] == pytest.approx((1 / 2 + 1 / 2) / 2)


@pytest.mark.parametrize(
    ("vectors", "items"),
    [
        (np.zeros((3, 2)), np.zeros(2)),
        (np.zeros((1, 2)), np.zeros(1)),
        (np.array([[np.nan, 0.0], [1.0, 0.0]]), np.zeros(2)),
        (np.zeros(4), np.zeros(4)),
    ],
)
def test_validate_retrieval_rejects_malformed_input(vectors: np.ndarray, items: np.ndarray) -> None:
    with pytest.raises(InputError):
        validate_retrieval(vectors, items)


def test_retrieval_without_any_relevant_pair_is_an_error() -> None:
    with pytest.raises(InputError, match="relevant"):
        evaluate_retrieval(np.eye(3), np.arange(3))


def test_group_precision_counts_same_album_neighbours() -> None:
    vectors = np.array([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0], [0.1, 0.99], [0.7, 0.7]])
    albums: list[str | None] = ["x", "x", "y", "y", None]
    assert group_precision(vectors, albums, k=1) == 1.0
    assert group_precision(vectors, albums, k=10) == pytest.approx(0.25)
    assert group_precision(vectors, [None, None, None, None, None]) is None


def test_plots_are_written_and_non_empty(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    written = [
        confusion_png(np.array([[3, 1], [0, 4]]), ["a", "b"], tmp_path / "c.png"),
        embedding_map_png(rng.standard_normal((20, 5)), ["a", "b"] * 10, tmp_path / "deep" / "m.png"),
        curves_png({"train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "val_accuracy": [0.4, 0.8]}, tmp_path / "t.png"),
    ]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_excerpt_scores_leave_out_the_own_track_and_match_hand_computed_values() -> None:
    vectors = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 0.0], [0.5, 0.0], [5.0, 0.0]])
    tracks = ["t1", "t1", "t2", "t3", "t4"]
    albums = ["A", "A", "A", "B", "B"]
    hit, precision = excerpt_neighbour_scores(vectors, tracks, albums, k=2, metric="euclidean")
    assert hit[0] == 1.0 and hit[1] == 1.0
    assert np.isnan(hit[2:]).all()  # tracks with one excerpt have nothing to find
    # x0 without its own track: x3 (B) at 0.5, x2 (A) at 1.0 -> 1 of 2 from album A
    assert precision[0] == pytest.approx(0.5)
    # x4 (album B): x2 (A) at 4, x3 (B) at 4.5 -> 1 of 2
    assert precision[4] == pytest.approx(0.5)


def test_excerpt_scores_rank_by_the_metric_asked_for() -> None:
    vectors = np.array([[1.0, 0.0], [10.0, 0.5], [1.0, 0.3]])
    tracks, albums = ["t1", "t1", "t2"], ["A", "A", "B"]
    cosine_hit, _ = excerpt_neighbour_scores(vectors, tracks, albums, metric="cosine")
    euclidean_hit, _ = excerpt_neighbour_scores(vectors, tracks, albums, metric="euclidean")
    assert cosine_hit[0] == 1.0  # same direction as its other excerpt
    assert euclidean_hit[0] == 0.0  # but nearer to the other track in space


def test_excerpt_scores_reject_mismatched_names() -> None:
    with pytest.raises(InputError):
        excerpt_neighbour_scores(np.eye(3), ["a", "a", "b"], ["x", "y"])


def test_cluster_bootstrap_keeps_clusters_whole_and_ignores_nan() -> None:
    values = np.array([1.0, 1.0, np.nan, 0.0, 0.0, 0.0])
    clusters = ["a", "a", "a", "b", "b", "b"]
    replicates = [cluster_bootstrap_mean(values, clusters, seed=s) for s in range(40)]
    # a replicate draws {a,a}, {a,b} or {b,b}: means 1, 2/5 or 0 (a brings two values, b three)
    assert set(np.round(replicates, 6)) <= {1.0, 0.4, 0.0}
    assert len(set(np.round(replicates, 6))) > 1
    assert cluster_bootstrap_mean(values, clusters, seed=3) == cluster_bootstrap_mean(values, clusters, seed=3)
    assert cluster_bootstrap_mean(np.array([0.25, 0.75]), ["x", "x"], seed=1) == pytest.approx(0.5)


def test_reliability_bins_calls_by_confidence_with_their_accuracy() -> None:
    confidence = np.array([0.95, 0.91, 0.55, 0.6, 0.05])
    right = np.array([True, False, True, False, False])
    table = reliability(confidence, right, n_bins=10)
    assert table.bins.tolist() == [0, 5, 9]  # (0, 0.1], (0.5, 0.6], (0.9, 1]
    assert table.confidence == pytest.approx([0.05, 0.575, 0.93])
    assert table.accuracy.tolist() == [0.0, 0.5, 0.5]
    assert table.calls.tolist() == [1, 2, 2]
    expected = (1 * 0.05 + 2 * 0.075 + 2 * 0.43) / 5
    assert calibration_error(confidence, right, n_bins=10) == pytest.approx(expected)


def test_reliability_needs_one_outcome_per_call() -> None:
    with pytest.raises(InputError):
        reliability(np.array([0.5, 0.6]), np.array([True]))
    with pytest.raises(InputError):
        calibration_error(np.array([]), np.array([], dtype=bool))
