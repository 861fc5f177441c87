"""Pure ranking, profile and path functions on seeded arrays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.errors import InputError
from soundalike.recommend.path import waypoints
from soundalike.recommend.profile import choose_clusters, kmeans, play_weights
from soundalike.recommend.ranking import Candidate, intra_list_distance, select


def test_select_interleaves_groups_in_proportion_to_their_weight() -> None:
    candidates = [Candidate(i, 1.0 - i / 100, group=i % 2) for i in range(40)]
    vectors = unit_rows(np.eye(40, dtype=np.float32))
    picked = select(candidates, vectors, 9, group_weights=[2.0, 1.0])
    groups = [candidates[p].group for p in picked]
    assert groups.count(0) == 6 and groups.count(1) == 3
    assert all(groups[i : i + 3].count(0) <= 2 for i in range(0, 9, 3))  # no long runs of one interest


def test_select_caps_artists_and_counts_duplicates_once() -> None:
    rng = np.random.default_rng(0)
    vectors = unit_rows(rng.standard_normal((6, 8)).astype(np.float32))
    vectors[1] = vectors[0]  # same audio, another file
    candidates = [
        Candidate(10, 0.9, artist="a"),
        Candidate(11, 0.89, artist="b"),
        Candidate(12, 0.8, artist="a"),
        Candidate(13, 0.7, artist="a"),
        Candidate(14, 0.6, artist="c", canonical=99),
        Candidate(15, 0.5, artist="d"),
    ]
    picked = [candidates[p].track_id for p in select(candidates, vectors, 6, artist_cap=2, taken={99})]
    assert picked == [10, 12, 15]  # 11 is a copy of 10, 13 breaks the cap of 2, 14's audio is taken


@pytest.mark.parametrize(
    ("n", "options", "message"),
    [
        (0, {}, "n must be >= 1"),
        (3, {"diversity": 1.5}, "diversity must be within"),
        (3, {"artist_cap": 0}, "artist_cap must be >= 1"),
    ],
)
def test_select_refuses_bad_options_as_input_errors(n: int, options: dict[str, float], message: str) -> None:
    candidates = [Candidate(i, 1.0) for i in range(3)]
    with pytest.raises(InputError, match=message):
        select(candidates, np.eye(3, dtype=np.float32), n, **options)


def test_select_refuses_candidates_and_vectors_that_do_not_line_up() -> None:
    with pytest.raises(InputError, match="2 candidates for 3 vectors"):
        select([Candidate(1, 1.0), Candidate(2, 0.5)], np.eye(3, dtype=np.float32), 1)


def test_diversity_spreads_the_list_at_some_cost_in_relevance() -> None:
    rng = np.random.default_rng(1)
    centre = rng.standard_normal(16)
    tight = centre + 0.05 * rng.standard_normal((20, 16))
    far = rng.standard_normal((20, 16))
    vectors = unit_rows(np.vstack([tight, far]).astype(np.float32))
    relevance = vectors @ unit_rows(centre[None, :].astype(np.float32))[0]
    candidates = [Candidate(i, float(r)) for i, r in enumerate(relevance)]
    plain = select(candidates, vectors, 8, diversity=0.0)
    mmr = select(candidates, vectors, 8, diversity=0.7)
    assert intra_list_distance(vectors[mmr]) > intra_list_distance(vectors[plain]) + 0.1
    assert relevance[plain].mean() >= relevance[mmr].mean()


def test_two_styles_make_two_interests_and_one_style_makes_one() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(16), rng.standard_normal(16)
    two = unit_rows(np.vstack([a + 0.1 * rng.standard_normal((8, 16)), b + 0.1 * rng.standard_normal((8, 16))]))
    labels = choose_clusters(two, np.ones(16), max_k=3, min_silhouette=0.25)
    assert len(set(labels[:8])) == 1 and len(set(labels[8:])) == 1 and labels[0] != labels[8]
    one = unit_rows(a + 0.1 * rng.standard_normal((16, 16)))
    assert len(set(choose_clusters(one, np.ones(16), max_k=3, min_silhouette=0.25))) == 1


def test_play_weights_halve_every_half_life_and_skips_count_against() -> None:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    events = [
        (1, now, False),
        (1, now - timedelta(days=10), False),
        (2, now - timedelta(days=20), False),
        (3, now, True),
    ]
    positive, negative = play_weights(events, half_life_days=10)
    assert positive[1] == pytest.approx(1.5) and positive[2] == pytest.approx(0.25)
    assert negative == {3: 1.0} and 3 not in positive


def test_waypoints_start_and_end_at_the_tracks_and_move_evenly() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(8), rng.standard_normal(8)
    points = waypoints(a, b, 6)
    assert np.allclose(points[0], a / np.linalg.norm(a), atol=1e-5)
    assert np.allclose(points[-1], b / np.linalg.norm(b), atol=1e-5)
    steps = [float(points[i] @ points[i + 1]) for i in range(5)]
    assert max(steps) - min(steps) < 1e-4


def test_a_far_future_skip_leaves_every_play_a_positive_weight() -> None:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    events = [(1, now, False), (2, now - timedelta(days=3), False), (3, datetime(9999, 12, 31, tzinfo=UTC), True)]
    positive, negative = play_weights(events, half_life_days=1)
    assert positive[1] == pytest.approx(1.0) and positive[2] == pytest.approx(0.125)
    assert negative == {3: 1.0}


def test_plays_centuries_apart_never_underflow_to_all_zero() -> None:
    events = [(1, datetime(1900, 1, 1, tzinfo=UTC), False), (2, datetime(1901, 1, 1, tzinfo=UTC), True)]
    positive, negative = play_weights(events, half_life_days=0.01)
    assert positive == {1: 1.0} and negative == {2: 1.0}


def test_weighted_kmeans_gives_heavy_groups_their_own_clusters_and_repeats_itself() -> None:
    light_third = np.array([10.0] * 10 + [0.01] * 5)
    for case in range(20):
        rng = np.random.default_rng(case)
        x = unit_rows(np.vstack([c + 0.1 * rng.standard_normal((5, 16)) for c in rng.standard_normal((3, 16))]))
        for seed in range(3):
            labels = kmeans(x, light_third, 2, seed=seed)
            assert len(set(labels[:5])) == len(set(labels[5:10])) == 1 and labels[0] != labels[5], (case, seed)
            assert np.array_equal(labels, kmeans(x, light_third, 2, seed=seed))
        assert len(set(kmeans(x, np.ones(15), 3).tolist())) == 3
