"""Similar, multi-seed, playlists, cold start, paths and evaluation on a synthetic catalogue, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event

from soundalike.embed.review import review_genre
from soundalike.index.backends import StaleSet
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.ingest.listening import record_events
from soundalike.recommend.browse import list_tracks, search_tracks, track_detail
from soundalike.recommend.evaluation import evaluate_playlists
from soundalike.recommend.facts import genre_rows, track_facts
from soundalike.recommend.filters import Filters
from soundalike.recommend.path import sonic_path
from soundalike.recommend.playlist import PlaylistOptions, playlist_for_user
from soundalike.recommend.similar import Options, similar_to_track, similar_to_tracks

from support.recommend_fixtures import Catalogue

pytestmark = pytest.mark.both_engines

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def test_similar_by_id_stays_in_style_and_leaves_out_itself_copies_and_deleted(catalogue: Catalogue) -> None:
    with session_scope(catalogue.service.factory) as session:
        results = similar_to_track(session, catalogue.service.index, 1, 10)
    ids = [r.track_id for r in results]
    assert len(ids) == 10 and not {1, 2, 3} & set(ids)  # itself, its duplicate, a deleted track
    assert all(catalogue.genre_of[t] == "ambient" for t in ids)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    why = results[0].why
    assert why is not None and why.anchor_track_id == 1 and "ambient" in why.shared_genres


def test_filters_hold_and_unknown_tempo_or_key_fails_a_filter_on_it(catalogue: Catalogue) -> None:
    filters = Filters.build(genres=["techno"], tempo_min=100, tempo_max=104, keys=["c major"], year_max=2001)
    with session_scope(catalogue.service.factory) as session:
        results = similar_to_track(session, catalogue.service.index, 1, 20, Options(filters=filters))
    assert results, "techno tracks within the ranges exist"
    for r in results:
        assert "techno" in r.genres and r.tempo is not None and 100 <= r.tempo <= 104
        assert r.key == "C major" and r.year is not None and r.year <= 2001
    with pytest.raises(InputError, match="tempo range is empty"):
        Filters.build(tempo_min=120, tempo_max=100)


def test_artist_cap_limits_tracks_per_artist(catalogue: Catalogue) -> None:
    with session_scope(catalogue.service.factory) as session:
        results = similar_to_track(session, catalogue.service.index, 40, 9, Options(artist_cap=2))
    artists = [r.artist for r in results]
    assert len(results) == 9 and max(artists.count(a) for a in set(artists)) <= 2


def test_multi_seed_results_serve_both_seeds(catalogue: Catalogue) -> None:
    ambient, folk = 5, 40
    with session_scope(catalogue.service.factory) as session:
        results = similar_to_tracks(session, catalogue.service.index, [ambient, folk], 8)
    genres = [catalogue.genre_of[r.track_id] for r in results]
    assert genres.count("ambient") >= 3 and genres.count(catalogue.genre_of[folk]) >= 3
    assert {r.why.anchor_track_id for r in results if r.why} == {ambient, folk}


def test_unknown_track_is_not_found(catalogue: Catalogue) -> None:
    with session_scope(catalogue.service.factory) as session, pytest.raises(NotFoundError):
        similar_to_track(session, catalogue.service.index, 9999, 5)


def _history(catalogue: Catalogue, user: str, tracks: list[int], skipped: list[int] = ()) -> None:  # type: ignore[assignment]
    events = [(t, NOW - timedelta(hours=i), None, False) for i, t in enumerate(tracks)]
    events += [(t, NOW - timedelta(minutes=i), 1000, True) for i, t in enumerate(skipped)]
    with session_scope(catalogue.service.factory) as session:
        assert record_events(session, user, events)["imported"] == len(events)


def test_two_style_listener_gets_both_styles_interleaved_without_heard_tracks(catalogue: Catalogue) -> None:
    ambient = [t for t, g in catalogue.genre_of.items() if g == "ambient"][3:9]
    jazz = [t for t, g in catalogue.genre_of.items() if g == "jazz"][:6]
    _history(catalogue, "ann", ambient + jazz)
    with session_scope(catalogue.service.factory) as session:
        made = playlist_for_user(session, catalogue.service.index, "ann", PlaylistOptions(n=8))
    assert made.strategy == "personalised" and len(made.interests) >= 2
    genres = [catalogue.genre_of[r.track_id] for r in made.results]
    assert set(genres) == {"ambient", "jazz"} and genres.count("ambient") >= 3 and genres.count("jazz") >= 3
    assert genres[:2] != [genres[0]] * 2 or genres[2:4] != [genres[0]] * 2  # interleaved, not one block
    assert not set(ambient + jazz) & {r.track_id for r in made.results}
    assert all(r.why and r.why.anchor_track_id in ambient + jazz for r in made.results)


def test_recent_plays_outweigh_old_ones(catalogue: Catalogue) -> None:
    folk = [t for t, g in catalogue.genre_of.items() if g == "folk"][:5]
    techno = [t for t, g in catalogue.genre_of.items() if g == "techno"][:5]
    events = [(t, NOW - timedelta(days=365), None, False) for t in techno]
    events += [(t, NOW - timedelta(hours=i), None, False) for i, t in enumerate(folk)]
    with session_scope(catalogue.service.factory) as session:
        record_events(session, "bob", events)
        made = playlist_for_user(session, catalogue.service.index, "bob", PlaylistOptions(n=6, half_life_days=7))
    genres = [catalogue.genre_of[r.track_id] for r in made.results]
    assert genres.count("folk") >= 4


def test_thin_history_gets_a_stated_cold_start_and_unknown_user_is_not_found(catalogue: Catalogue) -> None:
    _history(catalogue, "cat", [40])
    _history(catalogue, "dan", [41, 42, 43, 44, 45, 46])
    with session_scope(catalogue.service.factory) as session:
        made = playlist_for_user(session, catalogue.service.index, "cat", PlaylistOptions(n=5))
        assert made.strategy == "cold_start_genre" and len(made.results) == 5
        assert all(catalogue.genre_of[r.track_id] == catalogue.genre_of[40] for r in made.results)
        assert made.results[0].why is not None and "popular" in made.results[0].why.basis
        with pytest.raises(NotFoundError):
            playlist_for_user(session, catalogue.service.index, "nobody")


def test_sonic_path_runs_from_start_to_end_without_repeats(catalogue: Catalogue) -> None:
    with session_scope(catalogue.service.factory) as session:
        route = sonic_path(session, catalogue.service.index, 4, 70, 8)
    ids = [r.track_id for r in route]
    assert ids[0] == 4 and ids[-1] == 70 and len(ids) == 8 and len(set(ids)) == 8
    assert not {2, 3} & set(ids)
    scores = [r.score for r in route]  # similarity to the start falls along the way
    assert scores[0] == pytest.approx(1.0, abs=1e-5) and scores[-1] < scores[1]


def test_curator_rejection_removes_the_genre_from_ranking_facts(catalogue: Catalogue) -> None:
    with session_scope(catalogue.service.factory) as session:
        review_genre(session, 10, "ambient", accept=False)
        rows = genre_rows(session, 10)
        assert {"genre": "ambient", "source": "curator", "confidence": 1.0, "rejected": True} in rows
        assert "ambient" not in track_detail(session, 10)["genres"]
        review_genre(session, 10, "drone", accept=True)
        assert "drone" in track_detail(session, 10)["genres"]


def test_personalised_playlists_beat_popularity_and_random(catalogue: Catalogue) -> None:
    with session_scope(catalogue.service.factory) as session:
        report = evaluate_playlists(session, catalogue.service.index, listeners=12, k=6, seed=3)
    scores = report["scores"]
    assert isinstance(scores, dict)
    mine, popular, random = scores["personalised"], scores["popularity"], scores["random"]
    assert mine["precision"] > popular["precision"] and mine["precision"] > random["precision"]
    assert mine["hit_rate"] >= popular["hit_rate"] and mine["hit_rate"] > random["hit_rate"]
    assert mine["artist_cap_ok"] == 1.0


def embedding_queries(engine: Engine) -> list[str]:
    """SQL statements that read the embeddings table, recorded from now on."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "embeddings" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    return statements


def test_an_up_to_date_index_answers_without_reading_embeddings_and_a_stale_entry_falls_back(
    catalogue: Catalogue,
) -> None:
    index = catalogue.service.index
    engine = catalogue.service.factory.kw["bind"]
    with session_scope(catalogue.service.factory) as session:
        reads = embedding_queries(engine)
        fresh = similar_to_track(session, index, 40, 10, Options(artist_cap=2, diversity=0.3))
        assert reads == []
        index.current.stale = StaleSet([40])  # its stored vector changed: the database has the new one
        fallback = similar_to_track(session, index, 40, 10, Options(artist_cap=2, diversity=0.3))
        assert len(reads) == 1
    assert [r.track_id for r in fallback] == [r.track_id for r in fresh]
    assert [r.score for r in fallback] == pytest.approx([r.score for r in fresh], abs=1e-5)


def test_the_track_table_holds_the_same_facts_the_database_gives(catalogue: Catalogue) -> None:
    table = catalogue.service.index.table
    with session_scope(catalogue.service.factory) as session:
        review_genre(session, 10, "ambient", accept=False)
        table.refresh_genres(session, [10])
        stored = track_facts(session, range(1, 80))
    assert len(stored) == len(table) == 72
    assert table.facts(range(1, 80)) == stored
    assert stored[2].duplicate_of_id == 1 and stored[3].status == "deleted" and "ambient" not in stored[10].genres


@pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, 0), (0, 501)])
def test_a_page_outside_the_bounds_is_refused_by_listing_and_search_alike(
    catalogue: Catalogue, offset: int, limit: int
) -> None:
    table = catalogue.service.index.table
    expected = f"need offset >= 0 and 1 <= limit <= 500, got offset={offset} limit={limit}"
    with pytest.raises(InputError, match=expected):
        list_tracks(table, offset=offset, limit=limit)
    with pytest.raises(InputError, match=expected):
        search_tracks(table, "", Filters(), offset=offset, limit=limit)
    listed = list_tracks(table, offset=0, limit=500)
    found, page = search_tracks(table, "", Filters(), offset=0, limit=500)
    assert found == listed["total"] == len(page) == len(listed["tracks"])
