"""Who may do what over HTTP: every write needs a key with the right scope; reads need one off loopback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from soundalike.ingest.db.models import Genre, ListeningEvent, User
from soundalike.ingest.db.session import session_scope
from soundalike.recommend.api.app import create_app
from soundalike.recommend.api_keys import revoke_key

from support.recommend_fixtures import Catalogue, bearer
from support.servers import in_process

READ_ONLY_POSTS = {"/similar/audio"}


def client_for(catalogue: Catalogue, *, host: str = "127.0.0.1", **settings: object) -> Callable[..., httpx.Response]:
    """A request function against the app in process, as a client at ``192.0.2.7`` would reach it."""
    app = create_app(catalogue.settings.model_copy(update=settings), service=catalogue.service, host=host)
    app.state.service = catalogue.service
    return in_process(app)


def write_routes(catalogue: Catalogue) -> list[tuple[str, str]]:
    """Every non-GET operation the API documents, outside the read-only uploads and the Subsonic routes."""
    paths = create_app(catalogue.settings, service=catalogue.service).openapi()["paths"]
    return [
        (method.upper(), path.replace("{track_id}", "4").replace("{user}", "ann"))
        for path, operations in paths.items()
        if not path.startswith("/rest") and path not in READ_ONLY_POSTS
        for method in operations
        if method not in ("get", "head")
    ]


def test_every_write_route_refuses_a_request_without_a_credential(catalogue: Catalogue) -> None:
    request = client_for(catalogue)
    routes = write_routes(catalogue)
    assert {("POST", "/users/ann/events"), ("DELETE", "/users/ann/events"), ("POST", "/index/reload")} <= set(routes)
    for method, path in routes:
        response = request(method, path, json={})
        assert response.status_code == 401 and response.json()["type"] == "UnauthorizedError", (method, path)


def test_a_read_key_may_read_but_not_write_and_a_revoked_key_is_refused(catalogue: Catalogue) -> None:
    request = client_for(catalogue)
    reader, writer = bearer(catalogue, "reader", "read"), bearer(catalogue, "writer", "write")
    review = {"genre": "jazz", "accept": True}
    assert request("GET", "/tracks/4", headers=reader).status_code == 200
    refused = request("POST", "/tracks/4/genres/review", json=review, headers=reader)
    assert refused.status_code == 403 and "scope 'read'" in refused.json()["error"]
    assert request("POST", "/tracks/4/genres/review", json=review, headers=writer).status_code == 200
    assert request("POST", "/index/reload", headers=writer).status_code == 403
    with session_scope(catalogue.service.factory) as session:
        revoke_key(session, "writer")
    assert request("POST", "/tracks/4/genres/review", json=review, headers=writer).status_code == 401


def test_a_wrong_credential_is_refused_even_where_anonymous_reads_are_allowed(catalogue: Catalogue) -> None:
    request = client_for(catalogue)
    assert request("GET", "/tracks/4").status_code == 200
    assert request("GET", "/tracks/4", headers={"Authorization": "Bearer sk_wrong"}).status_code == 401


def test_an_authorization_header_that_is_not_a_bearer_key_is_refused_not_anonymous(catalogue: Catalogue) -> None:
    request = client_for(catalogue)
    key = bearer(catalogue, "reader", "read")["Authorization"].removeprefix("Bearer ")
    assert request("GET", "/tracks/4", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    for header in (f"Basic {key}", "Basic dXNlcjpwYXNz", key, "Bearer", "Bearer ", "", f"Token {key}"):
        response = request("GET", "/tracks/4", headers={"Authorization": header})
        assert response.status_code == 401 and response.json()["type"] == "UnauthorizedError", header
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_off_loopback_reads_need_a_key_unless_the_operator_opens_them(catalogue: Catalogue) -> None:
    closed = client_for(catalogue, host="0.0.0.0")
    assert closed("GET", "/tracks/4").status_code == 401
    assert closed("GET", "/health").status_code == 200
    assert closed("GET", "/tracks/4", headers=bearer(catalogue, "reader", "read")).status_code == 200
    assert client_for(catalogue, host="0.0.0.0", open_reads=True)("GET", "/tracks/4").status_code == 200
    assert client_for(catalogue, open_reads=False)("GET", "/tracks/4").status_code == 401


def test_a_cross_site_write_is_refused_whatever_the_key(catalogue: Catalogue) -> None:
    request = client_for(catalogue)
    writer = bearer(catalogue, "writer", "write")
    events = {"events": [{"track_id": 4, "played_at": "2025-03-01T12:00:00Z"}]}
    for site in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}):
        response = request("POST", "/users/ann/events", json=events, headers=writer | site)
        assert response.status_code == 403, site
    assert (
        request("POST", "/users/ann/events", json=events, headers=writer | {"Origin": "http://127.0.0.1"}).status_code
        == 201
    )


@pytest.mark.parametrize("name", ["bad\x00genre", "tab\there", "x" * 129])
def test_genre_names_with_control_characters_or_too_long_are_refused(catalogue: Catalogue, name: str) -> None:
    request = client_for(catalogue)
    response = request(
        "POST",
        "/tracks/4/genres/review",
        json={"genre": name, "accept": True},
        headers=bearer(catalogue, "writer", "write"),
    )
    assert response.status_code == 422
    with session_scope(catalogue.service.factory) as session:
        assert all(name.isprintable() and len(name) <= 128 for name in session.scalars(select(Genre.name)))


def test_future_plays_are_refused_and_a_listener_can_be_erased(catalogue: Catalogue) -> None:
    request = client_for(catalogue)
    writer = bearer(catalogue, "writer", "write")
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    refused = request(
        "POST", "/users/zoe/events", json={"events": [{"track_id": 4, "played_at": future}]}, headers=writer
    )
    assert refused.status_code == 422 and "future" in refused.text
    far = request(
        "POST",
        "/users/zoe/events",
        json={"events": [{"track_id": 4, "played_at": "9999-12-31T00:00:00"}]},
        headers=writer,
    )
    assert far.status_code == 422
    plays = [{"track_id": t, "played_at": f"2025-03-0{t}T12:00:00Z"} for t in (4, 5, 6)]
    assert request("POST", "/users/zoe/events", json={"events": plays}, headers=writer).status_code == 201
    assert request("GET", "/users/zoe/playlist").status_code == 200
    erased = request("DELETE", "/users/zoe/events", headers=writer)
    assert erased.status_code == 200 and erased.json() == {"user": "zoe", "deleted": 3}
    with session_scope(catalogue.service.factory) as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.name == "zoe")) == 0
        assert (
            session.scalar(select(func.count()).select_from(ListeningEvent).join(User).where(User.name == "zoe")) == 0
        )
    assert request("DELETE", "/users/zoe/events", headers=writer).status_code == 404
    assert request("GET", "/users/zoe/playlist").status_code == 404
