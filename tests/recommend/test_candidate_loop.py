"""The candidate loop shared by similar tracks and playlists: it widens its pool until it has ``k`` picks."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.unit_norm import unit_rows
from soundalike.index.streamed_build import build_index
from soundalike.recommend.candidates import pick, pool_size, widened
from soundalike.recommend.facts import TrackFacts
from soundalike.recommend.filters import Filters
from soundalike.recommend.served_index import ServedIndex
from soundalike.recommend.track_table import TrackTable

TRACKS = 2000
ONE_ARTIST = 600


def ranked_catalogue() -> tuple[ServedIndex, np.ndarray]:
    """Tracks 1..2000 in falling cosine to the query; the 600 nearest share one artist, then one artist each;
    only tracks 1900, 1950 and 2000 are jazz. Returns the served index and the unit query."""
    rng = np.random.default_rng(0)
    query = unit_rows(rng.standard_normal((1, 16)).astype(np.float32))
    noise = unit_rows(rng.standard_normal((TRACKS, 16)).astype(np.float32))
    closeness = np.linspace(0.99, 0.1, TRACKS, dtype=np.float32)[:, None]
    vectors = unit_rows(closeness * query + (1 - closeness) * noise)
    ids = np.arange(1, TRACKS + 1)
    facts = [
        TrackFacts(
            int(t),
            f"/m/{t}.flac",
            artist="crowd" if t <= ONE_ARTIST else f"solo {t}",
            genres=frozenset({"jazz"} if t in (1900, 1950, 2000) else {"rock"}),
        )
        for t in ids
    ]
    index = build_index(ids, vectors, model_name="m", model_version="1")
    return ServedIndex(index, TrackTable(facts)), query


def picked_ids(served: ServedIndex, query: np.ndarray, k: int, filters: Filters, artist_cap: int | None) -> list[int]:
    found = pick(
        Session(),
        served,
        query,
        k,
        pool=pool_size(k, filters),
        taken=set(),
        filters=filters,
        artist_cap=artist_cap,
        diversity=0.0,
        group_weights=[1.0],
        relevance=lambda sims: sims.mean(axis=1),
    )
    return [c.track_id for c, _ in found]


def test_an_artist_cap_the_first_pool_cannot_meet_is_met_by_widening() -> None:
    served, query = ranked_catalogue()
    assert pool_size(5, Filters()) < ONE_ARTIST
    ids = picked_ids(served, query, 5, Filters(), artist_cap=1)
    nearest = served.search(query, TRACKS)[0][0].tolist()
    others = [t for t in nearest if t > ONE_ARTIST][:4]
    assert ids[0] == nearest[0] <= ONE_ARTIST and sorted(ids[1:]) == sorted(others)
    served.close()


def test_a_filter_few_tracks_pass_gives_those_tracks_once_the_pool_runs_out() -> None:
    served, query = ranked_catalogue()
    ids = picked_ids(served, query, 10, Filters.build(genres=["jazz"]), artist_cap=None)
    assert sorted(ids) == [1900, 1950, 2000]
    served.close()


def test_each_widening_asks_four_times_more_of_four_times_the_pool() -> None:
    tries = widened(15, 50)
    assert [next(tries) for _ in range(3)] == [(15, 50), (60, 200), (240, 800)]
