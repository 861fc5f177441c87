"""Health tells the truth: degraded (503) when the database does not answer, is damaged or refuses writes, or the
saved index cannot be read, while the index in memory keeps serving; it answers within a second under load."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, make_url, text

from soundalike.index.track_index import read_meta
from soundalike.ingest.settings import Settings
from soundalike.recommend.api.app import create_app
from soundalike.recommend.health import DatabaseCheck

from support.recommend_fixtures import Catalogue, make_catalogue
from support.servers import LOOPBACK, running

CHECK_EVERY_S = 0.1


@pytest.fixture
def sqlite_catalogue(tmp_path: Path) -> Catalogue:
    home = tmp_path / "home"
    home.mkdir()
    return make_catalogue(
        Settings(home=home, database_url=f"sqlite:///{home / 'db.sqlite'}", embedding_model="mfcc-stats")
    )


def client(catalogue: Catalogue) -> TestClient:
    return TestClient(create_app(catalogue.settings, service=catalogue.service), base_url=LOOPBACK)


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
        engine = sqlite_catalogue.service.factory.kw["bind"]
        with engine.connect() as connection:  # every page back in the file, so no reader finds them in the WAL
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        Path(sqlite_catalogue.settings.db_url.removeprefix("sqlite:///")).write_bytes(b"not a database " * 512)
        answer = api.get("/health")
        assert answer.status_code == 503 and "not a database" in answer.json()["problems"]["database"]
        page = api.get("/tracks/5")
        assert page.status_code == 503 and page.headers["Retry-After"] == "1"
        assert page.json() == {"error": "the database is unavailable", "type": "DatabaseUnavailable"}
        assert api.get("/tracks/5/similar", params={"k": 3}).status_code in (200, 503)


@contextmanager
def served(catalogue: Catalogue) -> Iterator[str]:
    """The catalogue's API under uvicorn on loopback, checking the database every ``CHECK_EVERY_S``; its base URL."""
    settings = catalogue.settings.model_copy(update={"health_check_s": CHECK_EVERY_S})
    with running(create_app(settings, service=catalogue.service)) as port:
        yield f"http://127.0.0.1:{port}"


def health_until(base: str, status: int, within: float = 10.0) -> httpx.Response:
    """The first ``/health`` answer with ``status``, or the last one after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        answer = httpx.get(f"{base}/health", timeout=5)
        if answer.status_code == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def sqlite_file(catalogue: Catalogue) -> Path:
    return Path(str(make_url(catalogue.settings.db_url).database))


@contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """``path`` refused to every writer, root included (immutable when run as root); writable again afterwards."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], check=False).returncode != 0:
        pytest.skip("root cannot be refused a write here: chattr +i is not available")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def take_every_pooled_connection(engine: Engine) -> list[Connection]:
    pool = engine.pool
    held = []
    while pool.checkedout() < pool.size() + pool._max_overflow:  # type: ignore[attr-defined]
        held.append(engine.connect())
    return held


def test_a_healthy_database_on_a_real_server_says_ok(sqlite_catalogue: Catalogue) -> None:
    with served(sqlite_catalogue) as base:
        answer = health_until(base, 200)
    assert answer.status_code == 200 and answer.json()["status"] == "ok" and answer.json()["problems"] == {}


def test_a_damaged_sqlite_header_degrades_health_with_the_reason(sqlite_catalogue: Catalogue) -> None:
    path = sqlite_file(sqlite_catalogue)
    with served(sqlite_catalogue) as base:
        assert health_until(base, 200).status_code == 200
        with sqlite3.connect(path) as writer:  # page 1 lives in the file, no newer copy waits in the WAL
            writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with path.open("r+b") as database:
            database.write(random.Random(5).randbytes(100))
        answer = health_until(base, 503)
        assert answer.status_code == 503 and answer.json()["status"] == "degraded"
        assert "not a database" in answer.json()["problems"]["database"]


def test_an_unwritable_sqlite_file_degrades_health_until_it_is_writable_again(sqlite_catalogue: Catalogue) -> None:
    path = sqlite_file(sqlite_catalogue)
    with served(sqlite_catalogue) as base:
        assert health_until(base, 200).status_code == 200
        with unwritable(path):
            answer = health_until(base, 503)
            assert answer.status_code == 503 and answer.json()["status"] == "degraded"
            assert answer.json()["problems"]["database"] == f"{path} is not writable"
        assert health_until(base, 200).json()["status"] == "ok"


def test_a_file_made_unwritable_while_the_write_probe_runs_is_reported_as_unwritable(
    sqlite_catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sqlite_file(sqlite_catalogue)
    check = DatabaseCheck(sqlite_catalogue.settings.db_url)
    probe = check._probe
    refused = ExitStack()

    def probe_once_the_file_is_unwritable() -> str | None:
        refused.enter_context(unwritable(path))
        return probe()

    monkeypatch.setattr(check, "_probe", probe_once_the_file_is_unwritable)
    try:
        with refused:
            assert check.sound() == f"{path} is not writable"
    finally:
        check.close()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_read_only_postgres_database_degrades_health_until_it_takes_writes_again(catalogue: Catalogue) -> None:
    url = catalogue.settings.db_url
    name = make_url(url).database
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with served(catalogue) as base, admin.connect() as connection:
        assert health_until(base, 200).status_code == 200
        try:
            connection.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
            answer = health_until(base, 503)
            assert answer.status_code == 503 and answer.json()["status"] == "degraded"
            assert "read-only transaction" in answer.json()["problems"]["database"]
        finally:
            connection.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
        assert health_until(base, 200).json()["status"] == "ok"
    admin.dispose()


def test_health_answers_within_a_second_while_requests_wait_for_a_pooled_connection(
    sqlite_catalogue: Catalogue,
) -> None:
    engine = sqlite_catalogue.service.factory.kw["bind"]
    with served(sqlite_catalogue) as base:
        held = take_every_pooled_connection(engine)
        waiting = [
            threading.Thread(target=httpx.get, args=(f"{base}/tracks/5",), kwargs={"timeout": 60}) for _ in range(50)
        ]
        try:
            for thread in waiting:
                thread.start()
            time.sleep(1.0)
            started = time.monotonic()
            answer = httpx.get(f"{base}/health", timeout=5)
            elapsed = time.monotonic() - started
            assert all(thread.is_alive() for thread in waiting)
        finally:
            for connection in held:
                connection.close()
            for thread in waiting:
                thread.join()
    assert answer.status_code == 200 and answer.json()["status"] == "ok" and elapsed < 1.0
