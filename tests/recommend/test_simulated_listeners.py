"""Simulated listeners: what they like, what they played and what is held out of their history."""

from __future__ import annotations

import numpy as np
import pytest

from soundalike.ingest.errors import InputError
from soundalike.recommend.facts import TrackFacts
from soundalike.recommend.simulated_listeners import events_of, listener_liking, simulate_listeners, track_groups

TRACKS = [
    TrackFacts(track_id=i, path=f"/m/{i}.ogg", album=f"album {i // 5}", genres=frozenset({f"genre {i % 3}"}))
    for i in range(20)
]


def test_a_listener_plays_and_holds_out_a_partition_of_the_groups_they_like() -> None:
    groups = track_groups(TRACKS, "album")
    fan = listener_liking("fan", ("album 1", "album 3"), groups, hold_out=0.4, rng=np.random.default_rng(0))
    assert set(fan.history) | fan.held_out == set(groups["album 1"]) | set(groups["album 3"])
    assert not set(fan.history) & fan.held_out and len(fan.held_out) == 4


def test_a_one_track_group_still_holds_out_that_track() -> None:
    fan = listener_liking("fan", ("solo",), {"solo": [7]}, hold_out=0.1, rng=np.random.default_rng(0))
    assert fan.history == [] and fan.held_out == {7}


def test_simulated_listeners_like_two_distinct_groups_of_the_requested_kind() -> None:
    made = simulate_listeners(TRACKS, listeners=6, group_by="genre", hold_out=0.5, rng=np.random.default_rng(1))
    assert [m.name for m in made] == [f"listener-{i:04d}" for i in range(6)]
    for m in made:
        assert len(set(m.groups)) == 2 and all(g.startswith("genre ") for g in m.groups)
        liked = {t.track_id for t in TRACKS if t.genres & set(m.groups)}
        assert set(m.history) | m.held_out == liked


def test_too_few_large_groups_or_a_bad_hold_out_is_refused() -> None:
    with pytest.raises(InputError, match="two album groups"):
        simulate_listeners(TRACKS[:8], listeners=2, group_by="album", hold_out=0.5, rng=np.random.default_rng(0))
    with pytest.raises(InputError, match="hold_out"):
        simulate_listeners(TRACKS, listeners=2, group_by="album", hold_out=1.0, rng=np.random.default_rng(0))


def test_every_played_track_gets_one_to_three_completed_plays() -> None:
    events = events_of([3, 4, 5], np.random.default_rng(0))
    counts = {t: sum(e[0] == t for e in events) for t in (3, 4, 5)}
    assert all(1 <= n <= 3 for n in counts.values()) and not any(skipped for _, _, skipped in events)
