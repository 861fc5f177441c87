"""Reloading the index while serving: a real uvicorn server answers every request during the swap."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import numpy as np
import pytest
from pydantic import SecretStr
from sqlalchemy import insert, select

from soundalike.embed.store import put_embeddings
from soundalike.index.streamed_build import build_index
from soundalike.ingest.db.models import Embedding, Track
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.db.vectors import from_blob
from soundalike.ingest.settings import Settings
from soundalike.recommend.api.app import create_app
from soundalike.recommend.api_keys import create_key
from soundalike.recommend.served_index import ServedIndex, ServedParts
from soundalike.recommend.track_table import TrackTable

from support.recommend_fixtures import Catalogue
from support.servers import running

NEW_TRACK = 500


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """A real uvicorn server on loopback for the API over ``settings``; yields its base URL."""
    with running(create_app(settings)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def base(catalogue: Catalogue) -> Iterator[str]:
    with serving(catalogue.settings) as url:
        yield url


def add_copy_of_track(catalogue: Catalogue, source: int) -> None:
    """A new track whose embedding sits next to ``source``'s (same album and style)."""
    with session_scope(catalogue.service.factory) as session:
        blob, dim = session.execute(select(Embedding.vector, Embedding.dim).where(Embedding.track_id == source)).one()
        vector = from_blob(blob, dim) + np.float32(0.01)
        session.execute(
            insert(Track),
            [{"id": NEW_TRACK, "path": "/music/new.flac", "size": 1, "mtime": 0.0, "status": "ok", "artist": "new"}],
        )
        put_embeddings(session, "mfcc-stats", "synthetic", np.array([NEW_TRACK]), vector[None, :])


def hammer(client: httpx.Client, stop: threading.Event, statuses: list[int]) -> None:
    paths = ["/tracks/5/similar?k=5", "/similar?seed=5&seed=40&k=6", "/users/ann/playlist?n=5", "/path?start=4&end=70"]
    i = 0
    while not stop.is_set():
        statuses.append(client.get(paths[i % len(paths)]).status_code)
        i += 1


def test_requests_during_a_reload_all_succeed_and_the_new_track_is_served_after(
    catalogue: Catalogue, base: str
) -> None:
    with session_scope(catalogue.service.factory) as session:
        admin = {"Authorization": f"Bearer {create_key(session, 'operator', 'admin')}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        events = [{"track_id": t, "played_at": f"2025-03-0{t}T12:00:00Z"} for t in (4, 5, 6, 7)]
        assert client.post("/users/ann/events", json={"events": events}, headers=admin).status_code == 201
        assert client.get(f"/tracks/{NEW_TRACK}/similar").status_code == 404
        before = client.get("/index").json()
        assert before["generation"] == 0 and before["tracks"] == 72
        add_copy_of_track(catalogue, 5)
        stop, statuses = threading.Event(), []
        workers = [threading.Thread(target=hammer, args=(client, stop, statuses)) for _ in range(2)]
        for w in workers:
            w.start()
        time.sleep(0.3)
        sent_before_reload = len(statuses)
        reload = client.post("/index/reload", headers=admin)
        assert reload.status_code == 202
        deadline = time.monotonic() + 60
        while (state := client.get("/index").json())["generation"] < 1 or state["reloading"]:
            assert time.monotonic() < deadline, state
            time.sleep(0.05)
        time.sleep(0.3)
        stop.set()
        for w in workers:
            w.join(30)
        assert sent_before_reload > 0 and len(statuses) > sent_before_reload
        assert set(statuses) == {200}, sorted(set(statuses))
        assert state["last_error"] is None and state["tracks"] == 73 and state["live"] == 72
        similar = client.get(f"/tracks/{NEW_TRACK}/similar", params={"k": 3})
        assert similar.status_code == 200 and similar.json()["results"][0]["track_id"] == 5
        near = client.get("/tracks/5/similar", params={"k": 3}).json()["results"]
        assert near[0]["track_id"] == NEW_TRACK


def test_a_failed_rebuild_keeps_serving_the_old_index_and_reports_why(catalogue: Catalogue) -> None:
    served = catalogue.service.index
    old = served.current
    gate = threading.Event()

    def slow_failure() -> ServedParts:
        gate.wait(10)
        raise OSError("disk full")

    future = served.reload(slow_failure)
    assert served.reloading and served.reload(slow_failure) is future  # one reload at a time
    ids, _ = served.search(np.ones((1, served.meta.dim), np.float32), 3)
    assert len(ids[0]) == 3
    gate.set()
    with pytest.raises(OSError, match="disk full"):
        future.result(10)
    assert served.generation == 0 and served.last_error == "OSError: disk full" and not served.reloading
    assert served.current is old


def test_a_rebuild_swaps_the_index_and_its_track_table_together(catalogue: Catalogue) -> None:
    served: ServedIndex = catalogue.service.index
    add_copy_of_track(catalogue, 5)
    with session_scope(catalogue.service.factory) as session:
        table = TrackTable.load(session)
        rows = session.execute(select(Embedding.track_id, Embedding.vector, Embedding.dim)).all()
    ids = np.array([r.track_id for r in rows])
    vectors = np.stack([from_blob(r.vector, r.dim) for r in rows])
    built = build_index(ids, vectors, model_name="mfcc-stats", model_version="synthetic")
    served.reload(lambda: ServedParts(built, table)).result(30)
    assert served.generation == 1 and served.current is built and served.table is table
    assert NEW_TRACK in served.table.facts([NEW_TRACK])


def test_reload_with_an_admin_token_configured_needs_that_bearer_token(catalogue: Catalogue) -> None:
    settings = catalogue.settings.model_copy(update={"admin_token": SecretStr("s3cret-token")})
    with serving(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic czNjcmV0LXRva2Vu"}):
            refused = client.post("/index/reload", headers=headers)
            assert refused.status_code == 401, headers
            assert refused.json()["type"] == "UnauthorizedError" and "Bearer" in refused.json()["error"]
        assert client.get("/index").json()["reloading"] is False
        accepted = client.post("/index/reload", headers={"Authorization": "Bearer s3cret-token"})
        assert accepted.status_code == 202


def test_reload_without_a_credential_is_refused_even_from_loopback(catalogue: Catalogue, base: str) -> None:
    refused = httpx.post(base + "/index/reload", timeout=30)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert catalogue.service.index.generation == 0 and not catalogue.service.index.reloading


def test_reload_refuses_a_cross_site_request_and_a_second_one_within_the_cooldown(catalogue: Catalogue) -> None:
    settings = catalogue.settings.model_copy(update={"reload_cooldown_s": 60.0})
    with session_scope(catalogue.service.factory) as session:
        admin = {"Authorization": f"Bearer {create_key(session, 'operator', 'admin')}"}
    with serving(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        for site in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}):
            refused = client.post("/index/reload", headers=admin | site)
            assert refused.status_code == 403 and refused.json()["type"] == "ForbiddenError", site
        assert client.post("/index/reload", headers=admin | {"Sec-Fetch-Site": "same-origin"}).status_code == 202
        again = client.post("/index/reload", headers=admin)
        assert again.status_code == 429 and int(again.headers["retry-after"]) >= 59
