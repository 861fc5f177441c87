from __future__ import annotations

import numpy as np

from soundalike.embed.evaluation import macro_f1
from soundalike.embed.genre_head import fit_softmax, fit_temperature, group_split, probabilities


def test_group_split_keeps_groups_whole_and_every_class_in_training() -> None:
    groups = [f"album{i // 3}" for i in range(30)] + ["solo"] * 5
    labels = ["a" if i < 15 else "b" for i in range(30)] + ["c"] * 5
    test = group_split(groups, labels, test_fraction=0.4, seed=0)
    for group in set(groups):
        sides = {bool(t) for g, t in zip(groups, test, strict=True) if g == group}
        assert len(sides) == 1
    train_labels = {lab for lab, t in zip(labels, test, strict=True) if not t}
    assert train_labels == {"a", "b", "c"}
    assert not any(t for lab, t in zip(labels, test, strict=True) if lab == "c")
    assert 0 < test.sum() < 30


def test_softmax_head_separates_held_out_clusters_well_above_chance() -> None:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 16)) * 2
    y = np.repeat(np.arange(3), 40)
    x = (centres[y] + rng.standard_normal((120, 16))).astype(np.float32)
    train = np.arange(120) % 4 != 0
    w, b = fit_softmax(x[train], y[train], 3)
    predicted = probabilities(x[~train], w, b, 1.0).argmax(axis=1)
    assert np.mean(predicted == y[~train]) >= 0.9  # chance is 1/3
    assert macro_f1(y[~train], predicted, 3) >= 0.9


def test_temperature_softens_overconfident_wrong_logits() -> None:
    logits = np.tile([[10.0, 0.0], [0.0, 10.0], [10.0, 0.0], [0.0, 10.0]], (3, 1))
    y = np.tile([0, 1, 1, 0], 3)  # half of the confident calls are wrong
    assert fit_temperature(logits, y) > 5.0
    assert fit_temperature(logits, np.tile([0, 1, 0, 1], 3)) < 0.5


def test_too_few_held_out_rows_leave_the_temperature_at_one() -> None:
    logits = np.array([[10.0, 0.0], [0.0, 10.0], [10.0, 0.0]])
    assert fit_temperature(logits, np.array([0, 1, 0])) == 1.0
