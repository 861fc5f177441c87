"""The CLI and the HTTP API share their request defaults and caps."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.ingest.db.models import MAX_ID, MAX_INTEGER
from soundalike.recommend.api.app import create_app
from soundalike.recommend.defaults import DEFAULTS

from support.cli_runner import run_cli
from support.recommend_fixtures import Catalogue, bearer
from support.servers import LOOPBACK


def test_cli_and_api_cap_result_counts_alike(catalogue: Catalogue) -> None:
    cap = DEFAULTS.max_results
    assert len(run_cli(catalogue.settings, "similar", "1", "-k", str(cap))["results"]) > 0
    over = CliRunner().invoke(
        app,
        ["--home", str(catalogue.settings.home), "similar", "1", "-k", str(cap + 1)],
        env={"SOUNDALIKE_DATABASE_URL": catalogue.settings.db_url, "SOUNDALIKE_EMBEDDING_MODEL": "mfcc-stats"},
    )
    assert over.exit_code == 2 and str(cap) in over.output
    with TestClient(create_app(catalogue.settings, service=catalogue.service), base_url=LOOPBACK) as client:
        assert client.get("/tracks/1/similar", params={"k": cap}).status_code == 200
        assert client.get("/tracks/1/similar", params={"k": cap + 1}).status_code == 422
        assert client.get("/users/nobody/playlist", params={"n": cap + 1}).status_code == 422


def test_cli_and_api_playlists_default_to_the_same_length(catalogue: Catalogue) -> None:
    app = create_app(catalogue.settings, service=catalogue.service)
    with TestClient(app, base_url=LOOPBACK, headers=bearer(catalogue, "writer", "write")) as client:
        played = [{"track_id": t, "played_at": f"2025-03-0{t}T12:00:00Z"} for t in (4, 5, 6, 7)]
        assert client.post("/users/ann/events", json={"events": played}).status_code == 201
        by_api = client.get("/users/ann/playlist").json()["results"]
    by_cli = run_cli(catalogue.settings, "recommend", "ann")["results"]
    assert len(by_api) == len(by_cli) == DEFAULTS.playlist_length
    assert [r["track_id"] for r in by_api] == [r["track_id"] for r in by_cli]


def test_cli_and_api_cap_the_artist_cap_alike(catalogue: Catalogue) -> None:
    cap = DEFAULTS.max_artist_cap
    assert len(run_cli(catalogue.settings, "similar", "1", "--artist-cap", str(cap))["results"]) > 0
    over = CliRunner().invoke(
        app,
        ["--home", str(catalogue.settings.home), "similar", "1", "--artist-cap", str(cap + 1)],
        env={"SOUNDALIKE_DATABASE_URL": catalogue.settings.db_url, "SOUNDALIKE_EMBEDDING_MODEL": "mfcc-stats"},
    )
    assert over.exit_code == 2 and str(cap) in over.output
    with TestClient(create_app(catalogue.settings, service=catalogue.service), base_url=LOOPBACK) as client:
        assert client.get("/tracks/1/similar", params={"artist_cap": cap}).status_code == 200
        assert client.get("/tracks/1/similar", params={"artist_cap": cap + 1}).status_code == 422
        assert client.get("/users/nobody/playlist", params={"artist_cap": cap + 1}).status_code == 422


def test_events_refuse_ids_and_play_lengths_beyond_an_integer_column(catalogue: Catalogue) -> None:
    with TestClient(create_app(catalogue.settings, service=catalogue.service), base_url=LOOPBACK) as client:
        play = {"track_id": 4, "played_at": "2025-03-01T12:00:00Z", "ms_played": MAX_INTEGER}
        headers = bearer(catalogue, "writer", "write")
        assert client.post("/users/ann/events", json={"events": [play]}, headers=headers).status_code == 201
        for field, value in (("track_id", MAX_ID + 1), ("ms_played", MAX_INTEGER + 1)):
            refused = client.post("/users/ann/events", json={"events": [{**play, field: value}]}, headers=headers)
            assert refused.status_code == 422, field


def test_routes_and_pages_write_no_cap_as_a_bare_number() -> None:
    """Caps live in DEFAULTS, ingest.names and the models; a route or page spells no number but the 0..1 range."""
    root = Path(__file__).resolve().parents[2] / "recommend"
    cap = re.compile(r"\b(le|lt|max_length)=(?!1\.0\b)[0-9]")
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for folder in ("api", "web")
        for path in sorted((root / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if cap.search(line)
    ]
    assert found == []
