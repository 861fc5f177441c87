"""The HTTP API on a real uvicorn server on loopback, over real ingested audio, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
import uvicorn
from sqlalchemy import select

from soundalike.embed.models import embedding_model
from soundalike.embed.store import load_embeddings
from soundalike.index.streamed_build import build_index
from soundalike.index.track_index import save_index
from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.settings import Settings
from soundalike.recommend.api.app import create_app
from soundalike.recommend.api_keys import create_key

from support.databases import POSTGRES_URL, empty_postgres
from support.servers import free_port

CPU = torch.device("cpu")

UPLOAD_LIMIT = 300_000


class Server:
    """A uvicorn server in a thread; ``base`` is its URL, ``ids`` maps file names to track ids."""

    def __init__(self, settings: Settings, ids: dict[str, int], write_key: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ids = ids
        self.key = write_key
        self.auth = {"Authorization": f"Bearer {write_key}"}
        app = create_app(settings, max_upload_bytes=UPLOAD_LIMIT)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, library: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("api-home")
    if request.param == "postgres":
        empty_postgres()
        url = POSTGRES_URL
    else:
        url = f"sqlite:///{home / 'api.db'}"
    settings = Settings(home=home, database_url=url, embedding_model="mfcc-stats")
    factory = open_database(url)
    ingest(factory, [library], IngestOptions(settings=settings, device=CPU, workers=1))
    model = embedding_model(settings, CPU)
    with session_scope(factory) as session:
        model.refresh(session)
        session.flush()
        ids, vectors, version = load_embeddings(session, model.name)
        names = {Path(p).name: tid for tid, p in session.execute(select(Track.id, Track.path))}
        write_key = create_key(session, "tester", "write")
    save_index(build_index(ids, vectors, model_name=model.name, model_version=str(version)), settings.index_dir)
    with Server(settings, names, write_key) as running:
        yield running


def get(server: Server, path: str, **params: object) -> httpx.Response:
    return httpx.get(server.base + path, params=params, timeout=30)  # type: ignore[arg-type]


def test_health_and_paged_tracks(server: Server) -> None:
    assert get(server, "/health").json() == {"status": "ok", "model": "mfcc-stats", "indexed": 12, "problems": {}}
    first = get(server, "/tracks", limit=5).json()
    second = get(server, "/tracks", limit=5, offset=5).json()
    assert first["total"] == 12 and len(first["tracks"]) == 5 and len(second["tracks"]) == 5
    assert not {t["track_id"] for t in first["tracks"]} & {t["track_id"] for t in second["tracks"]}


def test_track_detail_lists_genre_rows_and_unknown_ids_are_404_json(server: Server) -> None:
    detail = get(server, f"/tracks/{server.ids['drone_02.flac']}").json()
    assert detail["genres"] == ["drone"] and detail["genre_rows"][0]["source"] == "tag"
    for path in ("/tracks/999999", "/tracks/999999/similar", "/users/nobody/playlist"):
        response = get(server, path)
        assert response.status_code == 404 and response.json()["type"] == "NotFoundError"


def test_similar_by_id_and_by_seeds_rank_the_same_style(server: Server) -> None:
    drone = server.ids["drone_02.flac"]
    results = get(server, f"/tracks/{drone}/similar", k=4).json()["results"]
    assert len(results) == 4 and all(r["path"].split("/")[-1].startswith("drone") for r in results)
    assert results[0]["why"]["anchor_track_id"] == drone and results[0]["why"]["text"]
    assert results[0]["why"]["aspects"] == []  # only a fusion model has blocks to tell apart
    seeds = get(server, "/similar", seed=[drone, server.ids["beat_03.flac"]], k=6).json()["results"]
    styles = [r["path"].split("/")[-1].split("_")[0] for r in seeds]
    assert styles.count("drone") >= 2 and styles.count("beat") >= 2
    assert get(server, "/similar", seed="x").status_code == 422


def test_audio_upload_finds_the_recording_and_refuses_big_or_non_audio(server: Server, library: Path) -> None:
    clip = (library / "beat" / "beat_05.ogg").read_bytes()
    assert len(clip) < UPLOAD_LIMIT
    ok = httpx.post(server.base + "/similar/audio", files={"file": ("q.ogg", clip)}, params={"k": 2}, timeout=60)
    assert ok.status_code == 200 and ok.json()["results"][0]["path"].endswith("beat_05.ogg")
    big = httpx.post(
        server.base + "/similar/audio", files={"file": ("big.wav", b"\0" * (UPLOAD_LIMIT + 1))}, timeout=60
    )
    assert big.status_code == 413 and "larger" in big.text
    huge = httpx.post(
        server.base + "/similar/audio", files={"file": ("h.wav", io.BytesIO(b"\0" * 2_000_000))}, timeout=60
    )
    assert huge.status_code == 413
    text_file = httpx.post(server.base + "/similar/audio", files={"file": ("n.mp3", b"not audio at all")}, timeout=60)
    assert text_file.status_code == 422 and text_file.json()["type"] == "DecodeError"


def test_events_then_playlist_then_genre_review(server: Server) -> None:
    beats = [server.ids[n] for n in ("beat_01.wav", "beat_03.flac", "beat_05.ogg", "beat_07.mp3")]
    events = [{"track_id": t, "played_at": f"2025-03-0{i + 1}T12:00:00Z"} for i, t in enumerate(beats)]
    posted = httpx.post(server.base + "/users/eve/events", json={"events": events}, headers=server.auth, timeout=30)
    assert posted.status_code == 201 and posted.json() == {"imported": 4, "duplicates": 0}
    again = httpx.post(server.base + "/users/eve/events", json={"events": events}, headers=server.auth, timeout=30)
    assert again.json() == {"imported": 0, "duplicates": 4}
    bad = httpx.post(
        server.base + "/users/eve/events",
        json={"events": [{"track_id": 999999, "played_at": "2025-01-01"}]},
        headers=server.auth,
    )
    assert bad.status_code == 404
    made = get(server, "/users/eve/playlist", n=2).json()
    assert made["strategy"] == "personalised" and len(made["results"]) == 2
    assert all(r["path"].split("/")[-1].startswith("beat") and r["track_id"] not in beats for r in made["results"])
    drone = server.ids["drone_00.wav"]
    review = httpx.post(
        server.base + f"/tracks/{drone}/genres/review", json={"genre": "Ambient", "accept": False}, headers=server.auth
    )
    assert review.status_code == 200
    assert {"genre": "Ambient", "source": "curator", "confidence": 1.0, "rejected": True} in review.json()
    empty = httpx.post(
        server.base + f"/tracks/{drone}/genres/review", json={"genre": " ", "accept": True}, headers=server.auth
    )
    assert empty.status_code == 422


def test_path_between_styles(server: Server) -> None:
    start, end = server.ids["drone_00.wav"], server.ids["beat_09.wav"]
    route = get(server, "/path", start=start, end=end, steps=5).json()["results"]
    ids = [r["track_id"] for r in route]
    assert ids[0] == start and ids[-1] == end and len(set(ids)) == 5
    assert get(server, "/path", start=start, end=start).status_code == 422


def test_opensubsonic_similar_tracks_json_matches_the_spec(server: Server) -> None:
    drone = server.ids["drone_02.flac"]
    for route in ("/rest/getSonicSimilarTracks", "/rest/getSonicSimilarTracks.view"):
        body = get(server, route, id=drone, count=3, f="json", apiKey=server.key, v="1.16.1", c="test").json()
        envelope = body["subsonic-response"]
        assert envelope["status"] == "ok" and envelope["openSubsonic"] is True
        assert {"version", "type", "serverVersion"} <= set(envelope)
        matches = envelope["sonicMatch"]
        assert len(matches) == 3
        for match in matches:
            assert {"id", "isDir", "title"} <= set(match["entry"]) and match["entry"]["id"] != str(drone)
            assert 0.0 <= match["similarity"] <= 1.0
        sims = [m["similarity"] for m in matches]
        assert sims == sorted(sims, reverse=True)
    missing = get(server, "/rest/getSonicSimilarTracks", f="json").json()["subsonic-response"]
    assert missing["status"] == "failed" and missing["error"]["code"] == 10
    unknown = get(server, "/rest/getSonicSimilarTracks", id=999999, f="json").json()["subsonic-response"]
    assert unknown["error"]["code"] == 70
    wrong = get(server, "/rest/getSonicSimilarTracks", id=drone, f="json", u="demo", p="demo").json()
    assert wrong["subsonic-response"]["error"]["code"] == 42


def test_opensubsonic_path_xml_and_extensions(server: Server) -> None:
    start, end = server.ids["drone_00.wav"], server.ids["beat_09.wav"]
    response = get(server, "/rest/findSonicPath.view", startSongId=start, endSongId=end, count=4)
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    ns = {"s": "http://subsonic.org/restapi"}
    assert root.get("status") == "ok" and root.get("openSubsonic") == "true"
    matches = root.findall("s:sonicMatch", ns)
    ids = [m.find("s:entry", ns).get("id") for m in matches]  # type: ignore[union-attr]
    assert ids[0] == str(start) and ids[-1] == str(end) and len(ids) == 4
    assert float(matches[0].get("similarity", "0")) == pytest.approx(1.0, abs=1e-4)
    extensions = get(server, "/rest/getOpenSubsonicExtensions", f="json").json()["subsonic-response"]
    assert {"name": "sonicSimilarity", "versions": [1]} in extensions["openSubsonicExtensions"]
    assert {"name": "apiKeyAuthentication", "versions": [1]} in extensions["openSubsonicExtensions"]


def test_openapi_schema_documents_the_routes(server: Server) -> None:
    schema = get(server, "/openapi.json").json()
    assert {"/tracks", "/tracks/{track_id}/similar", "/similar/audio", "/users/{user}/playlist", "/path"} <= set(
        schema["paths"]
    )
    assert np.isfinite(len(schema["components"]["schemas"]))


@pytest.mark.slow
def test_fuzzing_every_operation_with_and_without_a_key_never_gives_a_5xx_nor_junk_names(server: Server) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(server.base + "/openapi.json")
    failures: list[str] = []
    sent = 0

    def fuzzer(operation: schemathesis.APIOperation, headers: dict[str, str]) -> Callable[[], None]:
        @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def fuzz(case: schemathesis.Case) -> None:
            nonlocal sent
            response = case.call(base_url=server.base, headers=headers, timeout=30)
            sent += 1
            kind = response.headers.get("content-type", [""])[0].split(";")[0]
            if response.status_code in (200, 206) and kind.startswith("audio/"):
                return  # a track's audio file
            if response.status_code >= 500 or "Traceback" in response.text:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")
            else:
                assert kind in {"application/json", "application/xml"}, (case.formatted_path, kind)

        return fuzz

    for headers in ({}, server.auth):
        for result in schema.get_all_operations():
            fuzzer(result.ok(), headers)()
    assert failures == [] and sent > 100
    tracks = get(server, "/tracks", limit=500).json()["tracks"]
    names = {g for t in tracks for g in t["genres"]}
    assert all(name.isprintable() and 0 < len(name) <= 128 for name in names), sorted(names)
