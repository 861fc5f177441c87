"""Acknowledged means stored: with the database made unwritable mid-run, every write the server answered 2xx
is in the database afterwards, the others are 503 JSON with Retry-After, and a client reads its own write at
once. SQLite is made unwritable by marking its files immutable (writes then fail at commit, as on a disk
gone read-only) or by another connection holding the write lock; PostgreSQL by making new transactions
read-only and dropping the server's connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import torch
from sqlalchemy import select

from soundalike.ingest.db.models import ListeningEvent, User
from soundalike.ingest.db.session import session_scope
from soundalike.recommend.api.app import create_app
from soundalike.recommend.service import Service

from support.db_faults import EACH_FAULT, skip_unless_possible, unwritable
from support.recommend_fixtures import Catalogue, bearer
from support.servers import running

WRITERS = 4
FAULT_S = 1.5
START = datetime(2025, 3, 1, tzinfo=UTC)


@dataclass
class Writes:
    """What the writers saw: every status, the plays answered 201, the reads right after each 201."""

    statuses: list[int] = field(default_factory=list)
    acknowledged: list[tuple[str, datetime]] = field(default_factory=list)
    reads_after: list[int] = field(default_factory=list)
    refusals: list[httpx.Response] = field(default_factory=list)


@pytest.fixture
def served(catalogue: Catalogue) -> Iterator[tuple[str, dict[str, str], Service]]:
    """A real server on loopback whose service has the server's pool and a 0.3 s wait for the database."""
    settings = catalogue.settings.model_copy(update={"db_wait_s": 0.3})
    service = Service.open(settings, device=torch.device("cpu"))
    auth = bearer(catalogue, "writer", "write")
    try:
        with running(create_app(settings, service=service)) as port:
            yield f"http://127.0.0.1:{port}", auth, service
    finally:
        service.close()


def write_plays(base: str, auth: dict[str, str], user: str, stop: threading.Event, writes: Writes) -> None:
    """Post one play at a time until ``stop``; after each 201 read the user's playlist back."""
    with httpx.Client(base_url=base, headers=auth, timeout=30) as client:
        minute = 0
        while not stop.is_set():
            played = START + timedelta(minutes=minute)
            event = {"track_id": 4 + minute % 60, "played_at": played.isoformat()}
            answer = client.post(f"/users/{user}/events", json={"events": [event]})
            writes.statuses.append(answer.status_code)
            if answer.status_code == 201:
                writes.acknowledged.append((user, played))
                writes.reads_after.append(client.get(f"/users/{user}/playlist").status_code)
            else:
                writes.refusals.append(answer)
            minute += 1


def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Poll ``condition`` until it holds (or the time is up: the assertions after say what went wrong)."""
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def stored_plays(service: Service) -> set[tuple[str, datetime]]:
    with session_scope(service.factory) as session:
        rows = session.execute(
            select(User.name, ListeningEvent.played_at).join(User, User.id == ListeningEvent.user_id)
        ).all()
    return {(name, at if at.tzinfo else at.replace(tzinfo=UTC)) for name, at in rows}


def assert_refused(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "1"
    assert answer.json()["type"] == "DatabaseUnavailable"


@EACH_FAULT
def test_no_acknowledged_write_is_lost_when_the_database_becomes_unwritable(
    served: tuple[str, dict[str, str], Service], catalogue: Catalogue, db_url: str, fault: str, tmp_path: Path
) -> None:
    """SQLite files made immutable or write-locked, PostgreSQL made read-only, while four writers post plays."""
    skip_unless_possible(fault, tmp_path)
    base, auth, service = served
    writes, stop = Writes(), threading.Event()
    threads = [threading.Thread(target=write_plays, args=(base, auth, f"w{i}", stop, writes)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len({user for user, _ in writes.acknowledged}) == WRITERS)
    with unwritable(catalogue.settings.db_url, fault), httpx.Client(base_url=base, headers=auth, timeout=30) as client:
        time.sleep(FAULT_S / 2)
        assert_refused(client.delete("/users/w0/events"))
        assert_refused(client.post("/tracks/5/genres/review", json={"genre": "Lounge", "accept": True}))
        assert "Lounge" not in service.index.table.facts([5])[5].genres
        time.sleep(FAULT_S / 2)
        assert "Lounge" not in {row["genre"] for row in client.get("/tracks/5").json()["genre_rows"]}
        refused_during = len(writes.refusals)
    acknowledged_after_fault = len(writes.acknowledged)
    wait_for(lambda: len(writes.acknowledged) > acknowledged_after_fault + WRITERS)
    stop.set()
    for thread in threads:
        thread.join(30)

    assert refused_during > 0
    assert len(writes.acknowledged) > acknowledged_after_fault, "writes are accepted again once the fault is gone"
    assert set(writes.statuses) <= {201, 503}
    for answer in writes.refusals:
        assert_refused(answer)
    assert 200 in writes.reads_after and set(writes.reads_after) <= {200, 503}, (
        "a read right after a 201 finds the user"
    )
    missing = set(writes.acknowledged) - stored_plays(service)
    assert not missing, f"{len(missing)} of {len(writes.acknowledged)} acknowledged plays were not stored"
