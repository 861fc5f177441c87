"""How the API answers errors: our input errors as 4xx JSON, anything else as a logged 500 without internals."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from soundalike.ingest.errors import PreconditionError
from soundalike.recommend.api.app import create_app

from support.recommend_fixtures import Catalogue, bearer
from support.servers import LOOPBACK


@pytest.fixture
def client(catalogue: Catalogue) -> Iterator[TestClient]:
    """The API serving the synthetic catalogue in-process."""
    with TestClient(create_app(catalogue.settings, service=catalogue.service), base_url=LOOPBACK) as running:
        yield running


def test_a_value_error_deep_in_a_route_is_a_logged_500_not_a_client_error(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("matrix shapes (3,16) and (8,) not aligned")

    monkeypatch.setattr("soundalike.recommend.candidates.select", broken)
    with caplog.at_level(logging.ERROR):
        response = client.get("/tracks/40/similar", params={"k": 5})
    assert response.status_code == 500
    assert response.json()["detail"] == "internal error"
    assert "aligned" not in response.text and "Traceback" not in response.text
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert logged and isinstance(logged[0].exc_info[1], ValueError)  # type: ignore[index]


def test_input_errors_are_4xx_json(client: TestClient) -> None:
    unknown = client.get("/tracks/999/similar")
    assert unknown.status_code == 404 and unknown.json()["type"] == "NotFoundError"
    same = client.get("/path", params={"start": 4, "end": 4})
    assert same.status_code == 422 and same.json()["type"] == "InputError"
    empty = client.get("/tracks/40/similar", params={"tempo_min": 120, "tempo_max": 100})
    assert empty.status_code == 422 and "tempo range is empty" in empty.json()["error"]


@pytest.mark.parametrize("played_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_play_time_with_no_utc_equivalent_is_a_422_naming_the_event(
    client: TestClient, catalogue: Catalogue, played_at: str
) -> None:
    plays = [{"track_id": 4, "played_at": "2025-03-01T12:00:00Z"}, {"track_id": 5, "played_at": played_at}]
    writer = bearer(catalogue, "writer", "write")
    refused = client.post("/users/ray/events", json={"events": plays}, headers=writer)
    assert refused.status_code == 422
    assert refused.json() == {"error": f"event 2: played_at {played_at} is out of range in UTC", "type": "InputError"}
    assert client.get("/users/ray/playlist").status_code == 404


def test_an_unmet_precondition_is_a_409_not_a_404(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def unmet(*_args: object, **_kwargs: object) -> None:
        raise PreconditionError("need labelled tracks of at least 2 genres, found none")

    monkeypatch.setattr("soundalike.recommend.candidates.select", unmet)
    response = client.get("/tracks/40/similar", params={"k": 5})
    assert response.status_code == 409
    assert response.json() == {
        "error": "need labelled tracks of at least 2 genres, found none",
        "type": "PreconditionError",
    }
