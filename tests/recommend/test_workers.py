"""The production layout: ``serve --workers 2`` on PostgreSQL follows the index that ``index build`` publishes."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest
import torch
from sqlalchemy import select

from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import open_database
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.settings import Settings

from support.cli_runner import run_cli
from support.servers import serving

CPU = torch.device("cpu")
NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)


@pytest.fixture
def music(library: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    shutil.copytree(library / "drone", folder)
    return folder


@pytest.fixture
def indexed(settings: Settings, music: Path) -> Settings:
    """The music folder ingested (MFCC statistics as embeddings) and indexed by ``index build``."""
    settings = settings.model_copy(update={"embedding_model": "mfcc-stats"})
    ingest(open_database(settings.db_url), [music], IngestOptions(settings=settings, device=CPU, workers=1))
    run_cli(settings, "index", "build")
    return settings


def versions_by_process(client: httpx.Client, seconds: float = 60.0) -> dict[int, str]:
    """The index version each server process serves, asked on fresh connections until two have answered (a
    process still starting on a busy machine answers later, so this asks for up to ``seconds``)."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + seconds
    while len(seen) < 2 and time.monotonic() < deadline:
        state = client.get("/index").json()
        seen[state["process"]] = state["version"]
        if len(seen) < 2:
            time.sleep(0.02)
    return seen


def hammer(base: str, track_ids: list[int], stop: threading.Event, statuses: list[int]) -> None:
    with httpx.Client(base_url=base, timeout=30, limits=NO_KEEPALIVE) as client:
        i = 0
        while not stop.is_set():
            statuses.append(client.get(f"/tracks/{track_ids[i % len(track_ids)]}/similar", params={"k": 3}).status_code)
            i += 1


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_workers_swap_to_the_published_index_without_a_failed_request(
    indexed: Settings, music: Path, library: Path
) -> None:
    settings = indexed
    factory = open_database(settings.db_url)
    with factory() as session:
        track_ids = list(session.scalars(select(Track.id).where(Track.status == "ok")))
    with serving(settings, 2) as base, httpx.Client(base_url=base, timeout=30, limits=NO_KEEPALIVE) as client:
        before = versions_by_process(client)
        assert len(before) == 2 and len(set(before.values())) == 1
        stop, statuses = threading.Event(), []
        thread = threading.Thread(target=hammer, args=(base, track_ids, stop, statuses))
        thread.start()
        try:
            answered = time.monotonic() + 30
            while len(statuses) < 3:  # the swap must happen under load: wait for the first answers
                assert time.monotonic() < answered, "the workers answered no request"
                time.sleep(0.05)
            shutil.copy(library / "beat" / "beat_01.wav", music / "new.wav")
            report = ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1))
            assert report.added == 1
            sent_before_publish = len(statuses)
            published = run_cli(settings, "index", "build")
            assert published["count"] == len(track_ids) + 1
            deadline = time.monotonic() + 60
            while True:
                after = versions_by_process(client)
                old = set(before.values())
                if len(after) == 2 and not set(after.values()) & old:
                    break
                assert time.monotonic() < deadline, after
                time.sleep(0.2)
            time.sleep(0.5)
        finally:
            stop.set()
            thread.join(30)
        assert sent_before_publish > 0 and len(statuses) > sent_before_publish
        assert set(statuses) == {200}, sorted(set(statuses))
        assert len(set(after.values())) == 1 and after.keys() == before.keys()
        with factory() as session:
            new = session.scalar(select(Track.id).where(Track.path.like("%new.wav")))
        for _ in range(6):
            assert client.get(f"/tracks/{new}/similar", params={"k": 3}).status_code == 200


@pytest.mark.slow
def test_a_replica_without_an_index_builds_it_from_the_database(indexed: Settings) -> None:
    shutil.rmtree(indexed.index_dir)
    with serving(indexed, 1) as base:
        state = httpx.get(base + "/index", timeout=30).json()
        assert state["indexed"] > 0 and state["version"]
        assert (indexed.index_dir / "mfcc-stats.json").exists()
