"""Mixes as pure functions: clustering into useful sizes, names from what dominates, a smooth listening order."""

from __future__ import annotations

import numpy as np
import pytest

from soundalike.ingest.errors import InputError
from soundalike.recommend.mixes import (
    MemberFacts,
    chain_order,
    cluster,
    continuing_ids,
    distinct_names,
    merge_small,
    mix_count,
    name_mix,
    plan_mixes,
)


def blobs(
    rng: np.random.Generator, sizes: list[int], dim: int = 16, spread: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.standard_normal((len(sizes), dim))
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return (centres[truth] + spread * rng.standard_normal((len(truth), dim))).astype(np.float32), truth


def purity(labels: np.ndarray, truth: np.ndarray) -> float:
    return sum(np.bincount(truth[labels == c]).max() for c in np.unique(labels)) / len(labels)


@pytest.mark.parametrize(("n", "expected"), [(0, 1), (10, 1), (44, 1), (45, 2), (300, 10)])
def test_mix_count_aims_at_the_target_size(n: int, expected: int) -> None:
    assert mix_count(n, 30) == expected


def test_clusters_recover_separated_styles_at_the_target_size() -> None:
    vectors, truth = blobs(np.random.default_rng(0), [30, 30, 30, 30])
    labels = cluster(vectors, target=30, min_size=10)
    assert len(np.unique(labels)) == 4
    assert purity(labels, truth) == 1.0


def test_an_oversized_cluster_is_split_and_tiny_ones_merged() -> None:
    rng = np.random.default_rng(1)
    vectors, _ = blobs(rng, [200, 3], spread=0.6)
    labels = cluster(vectors, target=30, min_size=10)
    sizes = np.bincount(labels)
    assert len(sizes) >= 3
    assert sizes.min() >= 10
    assert sizes.max() <= 2 * 30 + 10


def test_merge_small_moves_each_member_to_the_nearest_other_centre() -> None:
    vectors = np.array([[1, 0], [1, 0.1], [1, -0.1], [0, 1], [0.1, 1], [0.05, 1], [0.9, 0.05]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.array([0, 0, 0, 1, 1, 1, 2])
    merged = merge_small(vectors, labels, min_size=2)
    assert merged.tolist() == [0, 0, 0, 1, 1, 1, 0]


def test_chain_order_walks_an_arc_end_to_end() -> None:
    angles = np.linspace(0, np.pi / 2, 12)
    shuffled = np.random.default_rng(2).permutation(12)
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1)[shuffled].astype(np.float32)
    walked = angles[shuffled][chain_order(vectors)]
    steps = np.diff(walked)
    assert np.all(steps > 0) or np.all(steps < 0)


def test_chain_order_is_smoother_than_the_stored_order() -> None:
    vectors, _ = blobs(np.random.default_rng(3), [40], spread=1.0)
    x = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def path(order: np.ndarray) -> float:
        return float(sum(1 - x[a] @ x[b] for a, b in zip(order, order[1:], strict=False)))

    order = chain_order(vectors)
    assert sorted(order.tolist()) == list(range(40))
    assert path(order) < path(np.arange(40))


def test_a_mix_is_named_from_its_genre_moods_tempo_and_era() -> None:
    members = [MemberFacts("jazz", ("mellow", "jazz"), 90 + i, 1991 + i % 5) for i in range(20)]
    members += [MemberFacts("folk", ("acoustic",), None, None) for _ in range(4)]
    assert name_mix(members) == "Jazz · mellow · 95-105 bpm · 1990s"


def test_two_genres_that_share_a_mix_are_both_named() -> None:
    members = [MemberFacts("folk")] * 4 + [MemberFacts("jazz")] * 3 + [MemberFacts(g) for g in "abc"]
    assert name_mix(members).startswith("Folk & Jazz")


def test_a_mix_where_nothing_dominates_is_mixed() -> None:
    assert name_mix([MemberFacts(g) for g in ("a", "b", "c", "d", "e")]) == "Mixed"


def test_repeated_names_are_numbered() -> None:
    assert distinct_names(["Jazz", "Folk", "Jazz", "Jazz"]) == ["Jazz", "Folk", "Jazz 2", "Jazz 3"]


def test_plan_mixes_keeps_every_track_once_largest_mix_first() -> None:
    vectors, truth = blobs(np.random.default_rng(4), [40, 25])
    ids = np.arange(100, 165)
    facts = [MemberFacts(genre=("a", "b")[t]) for t in truth]
    planned = plan_mixes(ids, vectors, facts, target=30, min_size=10)
    assert sorted(t for m in planned for t in m.track_ids) == ids.tolist()
    assert [len(m.track_ids) for m in planned] == sorted((len(m.track_ids) for m in planned), reverse=True)
    assert {m.name.split(" ")[0] for m in planned} == {"A", "B"}


def test_plan_mixes_refuses_misaligned_inputs() -> None:
    with pytest.raises(InputError, match="differ in length"):
        plan_mixes(np.arange(3), np.zeros((2, 4), dtype=np.float32), [MemberFacts()] * 3)


def test_a_new_mix_keeps_the_id_of_the_old_mix_it_mostly_continues() -> None:
    old = {7: [1, 2, 3, 4], 8: [5, 6, 7, 8], 9: [9, 10]}
    new = [[5, 6, 7, 11], [1, 2, 3, 4, 9], [20, 21, 10]]
    assert continuing_ids(old, new) == [8, 7, None]
