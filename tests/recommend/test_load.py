"""Holding under load on a real server on loopback (``soundalike serve`` in its own process for the crowd):
200 concurrent clients get answers and ``/health`` keeps answering within a second; past the limits requests
are shed at once with 503 and Retry-After."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import torch
from bench_service import AUDIO_TRACKS, prepare_load
from fastapi import FastAPI, Request

from soundalike.ingest.db.session import session_scope
from soundalike.ingest.listening import record_events
from soundalike.ingest.settings import Settings
from soundalike.recommend.api.app import create_app
from soundalike.recommend.api.body_limit import BodyLimit
from soundalike.recommend.service import Service

from support.recommend_fixtures import Catalogue, make_catalogue
from support.servers import running, serving

CLIENTS = 200
USERS = 5
HEALTH_LIMIT_S = 1.0


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    """The synthetic catalogue on SQLite with a few listeners."""
    home = tmp_path / "home"
    home.mkdir()
    settings = Settings(home=home, database_url=f"sqlite:///{tmp_path / 'load.db'}", embedding_model="mfcc-stats")
    catalogue = make_catalogue(settings)
    now = datetime(2025, 3, 1, tzinfo=UTC)
    with session_scope(catalogue.service.factory) as session:
        for u in range(USERS):
            record_events(session, f"u{u}", [(t, now - timedelta(hours=t), None, False) for t in range(10 + u, 30)])
    return catalogue


@contextmanager
def server(catalogue: Catalogue, **limits: float) -> Iterator[tuple[str, Service]]:
    """A real server on loopback with its own service opened under ``limits`` (settings fields)."""
    settings = catalogue.settings.model_copy(update=limits)
    service = Service.open(settings, device=torch.device("cpu"))
    try:
        with running(create_app(settings, service=service)) as port:
            yield f"http://127.0.0.1:{port}", service
    finally:
        service.close()


HEALTH_PROBE = """
import json, sys, time, httpx
base, stop = sys.argv[1], sys.argv[2]
latencies = []
with httpx.Client(base_url=base, timeout=float(sys.argv[3]) * 5) as client:
    while not __import__("os").path.exists(stop):
        started = time.perf_counter()
        try:
            ok = client.get("/health").status_code == 200
        except httpx.TransportError:
            ok = False
        latencies.append(time.perf_counter() - started if ok else float("inf"))
        time.sleep(0.05)
print(json.dumps(latencies))
"""


@contextmanager
def health_watch(base: str, tmp_path: Path) -> Iterator[list[float]]:
    """Ask ``/health`` every 50 ms from a process of its own (a client the crowd's work cannot slow) while the
    block runs; yields the latencies, filled when the block ends (a failure is inf)."""
    stop = tmp_path / "stop-health-probe"
    probe = subprocess.Popen(
        [sys.executable, "-c", HEALTH_PROBE, base, str(stop), str(HEALTH_LIMIT_S)], stdout=subprocess.PIPE, text=True
    )
    latencies: list[float] = []
    try:
        yield latencies
    finally:
        stop.touch()
        out, _ = probe.communicate(timeout=30)
        latencies.extend(json.loads(out))


def crowd(base: str, paths: list[str]) -> list[httpx.Response]:
    """Every path asked at once, each by its own client connection."""

    async def ask_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(paths), max_keepalive_connections=len(paths))
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
            return list(await asyncio.gather(*(client.get(p) for p in paths)))

    return asyncio.run(ask_all())


def read_paths(count: int) -> list[str]:
    """Similar, playlist, track and audio routes in turn, over many tracks and listeners (the audio of the tracks
    ``prepare_load`` gave real files, past the synthetic duplicate and deleted ones)."""
    routes = (
        lambda i: f"/tracks/{4 + i % 60}/similar?k=5",
        lambda i: f"/users/u{i % USERS}/playlist?n=10",
        lambda i: f"/tracks/{4 + i % 60}",
        lambda i: f"/tracks/{4 + i % (AUDIO_TRACKS - 3)}/audio",
    )
    return [routes[i % len(routes)](i) for i in range(count)]


@pytest.mark.slow
def test_200_concurrent_readers_all_get_answers_while_health_answers_within_a_second(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    prepare_load(catalogue.settings.home, catalogue.settings.db_url)
    with serving(catalogue.settings) as base, health_watch(base, tmp_path) as health:
        time.sleep(0.5)
        answers = crowd(base, read_paths(CLIENTS)) + crowd(base, read_paths(CLIENTS))
        time.sleep(0.2)
    assert [a.status_code for a in answers if a.status_code != 200] == []
    assert len(health) >= 3 and max(health) < HEALTH_LIMIT_S, f"slowest /health {max(health):.2f} s"


def test_past_the_line_requests_are_shed_at_once_with_503_and_retry_after(catalogue: Catalogue) -> None:
    reads = [p for p in read_paths(80) if not p.endswith("/audio")]  # this catalogue has no audio files
    with server(catalogue, max_requests=1, max_waiting=1) as (base, _):
        answers = crowd(base, reads)
        assert httpx.get(base + "/health", timeout=5).status_code == 200
    statuses = {a.status_code for a in answers}
    assert statuses == {200, 503}
    for shed in (a for a in answers if a.status_code == 503):
        assert shed.headers["Retry-After"] == "1" and shed.json()["type"] == "Busy"


def test_a_request_finding_no_free_database_connection_in_time_gets_503_with_retry_after(
    catalogue: Catalogue,
) -> None:
    with server(catalogue, db_connections=1, db_wait_s=0.2) as (base, service):
        with service.factory.kw["bind"].connect():
            started = time.perf_counter()
            answer = httpx.get(base + "/tracks/5", timeout=5)
            waited = time.perf_counter() - started
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "1", answer.text
        assert answer.json()["type"] == "DatabaseUnavailable" and waited < 2
        assert httpx.get(base + "/tracks/5", timeout=5).status_code == 200


def test_a_body_that_stops_arriving_is_answered_408_and_frees_its_slot() -> None:
    app = FastAPI()
    app.add_middleware(BodyLimit, body_bytes=1000, upload_bytes=1000, idle_s=0.3)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    with running(app) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as stalled:
            stalled.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"a" * 10)
            started, reply = time.perf_counter(), b""
            while b"RequestTimeout" not in reply and (chunk := stalled.recv(4096)):
                reply += chunk
            waited = time.perf_counter() - started
        assert reply.startswith(b"HTTP/1.1 408") and b"RequestTimeout" in reply and waited < 3
        assert httpx.post(f"http://127.0.0.1:{port}/echo", content=b"a" * 100).json() == {"bytes": 100}
