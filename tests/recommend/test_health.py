"""Health tells the truth: degraded (503) when the database or the saved index cannot be read, while the index
in memory keeps serving."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from recommend_fixtures import Catalogue, make_catalogue

from soundalike.index.track_index import read_meta
from soundalike.ingest.settings import Settings
from soundalike.recommend.api.app import create_app


@pytest.fixture
def sqlite_catalogue(tmp_path: Path) -> Catalogue:
    home = tmp_path / "home"
    home.mkdir()
    return make_catalogue(
        Settings(home=home, database_url=f"sqlite:///{home / 'db.sqlite'}", embedding_model="mfcc-stats")
    )


def client(catalogue: Catalogue) -> TestClient:
    return TestClient(create_app(catalogue.settings, service=catalogue.service))


def test_a_healthy_service_says_ok(sqlite_catalogue: Catalogue) -> None:
    with client(sqlite_catalogue) as api:
        answer = api.get("/health")
    assert answer.status_code == 200 and answer.json()["status"] == "ok" and answer.json()["problems"] == {}


def test_a_damaged_index_file_degrades_health_and_the_index_in_memory_keeps_serving(
    sqlite_catalogue: Catalogue,
) -> None:
    settings = sqlite_catalogue.settings
    meta = read_meta(settings.index_dir, "mfcc-stats")
    damaged = settings.index_dir / meta.files[0]
    damaged.write_bytes(damaged.read_bytes()[:64])
    with client(sqlite_catalogue) as api:
        answer = api.get("/health")
        assert answer.status_code == 503 and answer.json()["status"] == "degraded"
        assert "corrupt" in answer.json()["problems"]["index"]
        assert api.get("/tracks/5/similar", params={"k": 3}).status_code == 200


def test_an_unreadable_database_degrades_health_and_requests_get_503_json(sqlite_catalogue: Catalogue) -> None:
    with client(sqlite_catalogue) as api:
        assert api.get("/tracks").status_code == 200
        sqlite_catalogue.service.factory.kw["bind"].dispose()
        Path(sqlite_catalogue.settings.db_url.removeprefix("sqlite:///")).write_bytes(b"not a database " * 512)
        answer = api.get("/health")
        assert answer.status_code == 503 and "not a database" in answer.json()["problems"]["database"]
        page = api.get("/tracks/5")
        assert page.status_code == 503 and page.headers["Retry-After"] == "1" and page.json() == {
            "error": "the database is unavailable",
            "type": "DatabaseUnavailable",
        }
        assert api.get("/tracks/5/similar", params={"k": 3}).status_code in (200, 503)
