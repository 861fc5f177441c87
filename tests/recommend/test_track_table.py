"""The in-memory track table keeps one copy of each repeated value: equal genre sets of many tracks are one
set (a set per track cost 448 bytes of the table's ~815 per track), and filters still read each track's own."""

from __future__ import annotations

import numpy as np

from soundalike.recommend.facts import TrackFacts
from soundalike.recommend.filters import Filters
from soundalike.recommend.track_table import TrackTable


def test_tracks_with_equal_genres_share_one_set_and_the_genre_filter_still_reads_each() -> None:
    facts = [
        TrackFacts(t, f"/m/{t}.flac", genres=frozenset({"Rock"}) if t % 2 else frozenset()) for t in range(1, 1001)
    ]
    table = TrackTable(facts)
    assert len({id(genres) for genres in table.genres}) == 2
    assert len({id(keys) for keys in table.genre_keys}) == 2
    rows = np.arange(len(table))
    rock = table.accepts(Filters.build(genres=["rock"]), rows)
    assert table.ids[rock].tolist() == list(range(1, 1001, 2))
