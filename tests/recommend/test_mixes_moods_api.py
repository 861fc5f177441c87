"""Mixes and moods served over HTTP from the synthetic catalogue (a real SQLite file): facets, filters, search,
curator review, stored mixes and their M3U."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from soundalike.ingest.db.session import session_scope
from soundalike.ingest.listening import record_events
from soundalike.recommend.api.app import create_app
from soundalike.recommend.mix_store import refresh_mixes, stored_mixes

from support.recommend_fixtures import GENRE_MOODS, Catalogue, bearer
from support.servers import LOOPBACK

MOOD_OF = {mood: genre for genre, moods in GENRE_MOODS.items() for mood in moods}


@pytest.fixture
def client(catalogue: Catalogue) -> Iterator[TestClient]:
    """The API serving the synthetic catalogue in-process."""
    with TestClient(create_app(catalogue.settings, service=catalogue.service), base_url=LOOPBACK) as running:
        yield running


@pytest.fixture
def mixed(catalogue: Catalogue) -> list[tuple[int, str, list[int]]]:
    """The catalogue cut into mixes of about 18 tracks."""
    with session_scope(catalogue.service.factory) as session:
        refresh_mixes(session, "mfcc-stats", target=18)
    with session_scope(catalogue.service.factory) as session:
        return stored_mixes(session)


def test_mixes_are_pure_in_genre_named_for_it_and_hold_each_playable_audio_once(
    catalogue: Catalogue, mixed: list[tuple[int, str, list[int]]]
) -> None:
    assert len(mixed) == 4
    members = [t for _, _, tracks in mixed for t in tracks]
    playable = set(catalogue.genre_of) - {catalogue.deleted, catalogue.duplicate[1]}
    assert sorted(members) == sorted(playable)
    for _, name, tracks in mixed:
        genre, count = Counter(catalogue.genre_of[t] for t in tracks).most_common(1)[0]
        assert count == len(tracks)
        assert name.startswith(genre.title())
        assert any(mood in name for mood in GENRE_MOODS[genre] if mood != genre)


def test_a_refresh_keeps_the_ids_of_unchanged_mixes_and_replaces_the_rest(
    catalogue: Catalogue, mixed: list[tuple[int, str, list[int]]]
) -> None:
    with session_scope(catalogue.service.factory) as session:
        refresh_mixes(session, "mfcc-stats", target=18)
    with session_scope(catalogue.service.factory) as session:
        assert stored_mixes(session) == mixed
        refresh_mixes(session, "mfcc-stats", target=70)
    with session_scope(catalogue.service.factory) as session:
        again = stored_mixes(session)
    assert len(again) == 1 and sorted(again[0][2]) == sorted(t for _, _, tracks in mixed for t in tracks)


def test_mixes_are_listed_and_served_in_order_with_an_m3u(
    client: TestClient, mixed: list[tuple[int, str, list[int]]]
) -> None:
    listed = client.get("/mixes").json()["mixes"]
    assert [(m["id"], m["name"], m["size"]) for m in listed] == [(i, n, len(t)) for i, n, t in mixed]
    mix_id, name, tracks = mixed[0]
    one = client.get(f"/mixes/{mix_id}").json()
    assert one["name"] == name and [t["track_id"] for t in one["tracks"]] == tracks
    m3u = client.get(f"/mixes/{mix_id}.m3u")
    assert m3u.status_code == 200 and m3u.headers["content-type"].startswith("audio/x-mpegurl")
    assert [line for line in m3u.text.splitlines() if line.startswith("/music/")] == [t["path"] for t in one["tracks"]]


def test_an_unknown_mix_is_a_404(client: TestClient, mixed: list[tuple[int, str, list[int]]]) -> None:
    for path in ("/mixes/999", "/mixes/999.m3u"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["type"] == "NotFoundError"


def test_the_mood_filter_keeps_only_tracks_with_the_mood(client: TestClient, catalogue: Catalogue) -> None:
    results = client.get("/tracks/40/similar", params={"mood": "acoustic", "k": 8}).json()["results"]
    assert results and all(catalogue.genre_of[r["track_id"]] == "folk" for r in results)
    playlist = client.get("/similar", params={"seed": [40], "mood": ["calm"], "k": 5}).json()["results"]
    assert playlist and all(catalogue.genre_of[r["track_id"]] == "ambient" for r in playlist)


def test_the_mood_filter_holds_on_a_listener_playlist(client: TestClient, catalogue: Catalogue) -> None:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    with session_scope(catalogue.service.factory) as session:
        record_events(session, "ann", [(t, now - timedelta(hours=t), None, False) for t in range(55, 62)])
    results = client.get("/users/ann/playlist", params={"mood": "instrumental", "n": 5}).json()["results"]
    assert results
    for r in results:
        assert "instrumental" in client.get(f"/tracks/{r['track_id']}/moods").json()["moods"]


def test_an_unknown_mood_is_a_422_naming_the_known_moods(client: TestClient) -> None:
    response = client.get("/tracks/40/similar", params={"mood": "grumpy"})
    assert response.status_code == 422 and response.json()["type"] == "InputError"
    assert "grumpy" in response.json()["error"] and "mellow" in response.json()["error"]


def test_facets_count_the_tracks_that_carry_each_mood(client: TestClient, catalogue: Catalogue) -> None:
    facets = {f["mood"]: f for f in client.get("/moods").json()["moods"]}
    assert len(facets) == 50
    assert all(f["tracks"] <= 0.2 * len(catalogue.genre_of) + 1 for f in facets.values())
    assert facets["mellow"]["tracks"] > 0 and facets["metal"]["tracks"] == 0


def test_a_description_ranks_tracks_carrying_the_named_moods_first(client: TestClient, catalogue: Catalogue) -> None:
    results = client.get("/search", params={"describe": "electronic dance", "k": 10}).json()["results"]
    assert len(results) == 10
    assert all(catalogue.genre_of[r["track_id"]] == "techno" for r in results)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert results[0]["why"]["basis"] == "described as electronic, dance"


def test_a_description_with_an_unknown_word_is_a_422_listing_known_moods(client: TestClient) -> None:
    response = client.get("/search", params={"describe": "mellow kazoo"})
    assert response.status_code == 422 and "kazoo" in response.json()["error"]
    assert "known moods" in response.json()["error"]


def test_curator_verdicts_on_moods_steer_filters_at_once(client: TestClient, catalogue: Catalogue) -> None:
    writer = bearer(catalogue, "curator", "write")
    techno = next(t for t, g in catalogue.genre_of.items() if g == "techno")
    accepted = client.post(f"/tracks/{techno}/moods/review", json={"mood": "calm", "accept": True}, headers=writer)
    assert accepted.status_code == 200 and "mellow" in accepted.json()["moods"]
    found = client.get("/search", params={"describe": "mellow", "k": 60}).json()["results"]
    assert techno in [r["track_id"] for r in found]
    ambient = next(t for t in client.get("/tracks/40/similar", params={"mood": "mellow", "k": 3}).json()["results"])
    rejected = client.post(
        f"/tracks/{ambient['track_id']}/moods/review", json={"mood": "mellow", "accept": False}, headers=writer
    )
    assert "mellow" not in rejected.json()["moods"]
    assert client.get(f"/tracks/{ambient['track_id']}/moods").json()["moods"] == rejected.json()["moods"]
    again = client.get("/tracks/40/similar", params={"mood": "mellow", "k": 30}).json()["results"]
    assert ambient["track_id"] not in [r["track_id"] for r in again]


def test_mood_review_needs_a_write_key_and_a_known_mood(client: TestClient, catalogue: Catalogue) -> None:
    assert client.post("/tracks/5/moods/review", json={"mood": "mellow", "accept": True}).status_code == 401
    writer = bearer(catalogue, "curator", "write")
    unknown = client.post("/tracks/5/moods/review", json={"mood": "grumpy", "accept": True}, headers=writer)
    assert unknown.status_code == 422
    missing = client.post("/tracks/999/moods/review", json={"mood": "mellow", "accept": True}, headers=writer)
    assert missing.status_code == 404
