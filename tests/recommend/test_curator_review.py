"""Curator review through the CLI and the HTTP API: one operation, and a rejected genre counts nowhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from soundalike.ingest.db.models import Genre, ListeningEvent, TrackGenre
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.listening import get_or_create_user
from soundalike.ingest.repository import set_track_genre
from soundalike.recommend.api.app import create_app

from support.cli_runner import run_cli
from support.recommend_fixtures import Catalogue, bearer
from support.servers import LOOPBACK

REVIEWS = (("techno", False), ("drone", True), ("ambient", False), ("drone", False), ("drone", True))


@pytest.fixture
def client(catalogue: Catalogue) -> Iterator[TestClient]:
    """The API serving the synthetic catalogue in-process."""
    app = create_app(catalogue.settings, service=catalogue.service)
    with TestClient(app, base_url=LOOPBACK, headers=bearer(catalogue, "curator", "write")) as running:
        yield running


def genre_state(catalogue: Catalogue, track_id: int) -> list[tuple[str, str, float | None, bool]]:
    """Every stored genre row of a track: (genre, source, confidence, rejected), sorted."""
    with session_scope(catalogue.service.factory) as session:
        rows = session.execute(
            select(Genre.name, TrackGenre.source, TrackGenre.confidence, TrackGenre.rejected)
            .join(Genre, Genre.id == TrackGenre.genre_id)
            .where(TrackGenre.track_id == track_id)
        )
        return sorted((str(n), str(s), c, bool(r)) for n, s, c, r in rows)


def test_cli_and_api_reviews_leave_the_same_genre_rows(catalogue: Catalogue, client: TestClient) -> None:
    by_cli, by_api = 10, 11  # two ambient tracks with the same genre rows
    with session_scope(catalogue.service.factory) as session:
        for track_id in (by_cli, by_api):
            set_track_genre(session, track_id, "techno", source="predicted", confidence=0.6, model_version="1")
    assert genre_state(catalogue, by_cli) == genre_state(catalogue, by_api)
    for genre, accept in REVIEWS:
        run_cli(catalogue.settings, "genres", "review", str(by_cli), genre, "--accept" if accept else "--reject")
        response = client.post(f"/tracks/{by_api}/genres/review", json={"genre": genre, "accept": accept})
        assert response.status_code == 200, response.text
    cli_state, api_state = genre_state(catalogue, by_cli), genre_state(catalogue, by_api)
    assert cli_state == api_state
    assert ("techno", "predicted", 0.6, False) not in api_state
    assert {(g, r) for g, s, _, r in api_state if s == "curator"} == {
        ("techno", True),
        ("drone", False),
        ("ambient", True),
    }
    assert "ambient" not in client.get(f"/tracks/{by_api}").json()["genres"]


def add_plays(catalogue: Catalogue, user: str, track_id: int, times: int) -> None:
    """``times`` completed plays of a track by a user, a day apart."""
    start = datetime(2025, 3, 1, tzinfo=UTC)
    with session_scope(catalogue.service.factory) as session:
        user_id = get_or_create_user(session, user).id
        for i in range(times):
            session.add(ListeningEvent(user_id=user_id, track_id=track_id, played_at=start + timedelta(days=i)))


def test_a_rejected_genre_counts_nowhere(catalogue: Catalogue, client: TestClient) -> None:
    popular, heard = 10, 5  # ambient tracks
    add_plays(catalogue, "fan", popular, 6)
    add_plays(catalogue, "newcomer", heard, 1)
    before = client.get("/users/newcomer/playlist", params={"n": 3}).json()
    assert before["strategy"] == "cold_start_genre" and before["results"][0]["track_id"] == popular

    rejected = client.post(f"/tracks/{popular}/genres/review", json={"genre": "ambient", "accept": False})
    assert rejected.status_code == 200

    after = client.get("/users/newcomer/playlist", params={"n": 3}).json()
    assert after["strategy"] == "cold_start_genre"
    assert popular not in [r["track_id"] for r in after["results"]], "popularity within a genre"
    filtered = client.get(f"/tracks/{heard}/similar", params={"k": 20, "genre": "ambient"}).json()["results"]
    assert filtered and popular not in [r["track_id"] for r in filtered], "a genre filter"
    assert "ambient" not in client.get(f"/tracks/{popular}").json()["genres"]

    with session_scope(catalogue.service.factory) as session:  # the curator labels the rest of the catalogue
        for track_id, genre in catalogue.genre_of.items():
            if track_id != popular:
                set_track_genre(session, track_id, genre, source="label")
    run_cli(catalogue.settings, "genres", "train")
    called = run_cli(catalogue.settings, "genres", "predict")
    assert called["predicted"] + called["none_of_these"] >= 1
    calls = [r for r in genre_state(catalogue, popular) if r[1] in ("predicted", "suggested")]
    assert calls and all(genre != "ambient" for genre, *_ in calls), "a genre prediction or suggestion"
