"""Shared fixtures: real encoded audio, a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from soundalike.ingest.db.session import open_database
from soundalike.ingest.settings import Settings

from support.audio_factory import make_track

POSTGRES_URL = os.environ.get(
    "SOUNDALIKE_TEST_POSTGRES_URL", "postgresql+psycopg://tester:tester@127.0.0.1:5432/soundalike_test"
)
FORMAT_CYCLE = (".wav", ".flac", ".ogg", ".mp3")


def reset_postgres(url: str) -> None:
    """Drop every table of the test database so each test starts from an empty schema.

    Connections an earlier test left open (a server thread's pool, a background job) are closed first:
    one of them holding a lock would deadlock the drop.
    """
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or the PostgreSQL test database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings with a temporary home and the parametrised database."""
    home = tmp_path / "home"
    home.mkdir()
    return Settings(home=home, database_url=db_url)


@pytest.fixture
def factory(settings: Settings) -> sessionmaker[Session]:
    """Session factory on the migrated test database."""
    return open_database(settings.db_url)


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session, committed at the end of the test."""
    with factory() as s:
        yield s
        s.commit()


@pytest.fixture(scope="session")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small catalogue: 6 drone and 6 beat tracks across wav/flac/ogg/mp3, tagged, plus a non-audio file."""
    root = tmp_path_factory.mktemp("library")
    for i in range(12):
        style = "drone" if i % 2 == 0 else "beat"
        ext = FORMAT_CYCLE[(i // 2) % 4]
        album = f"{style.title()} Album {i % 4 // 2 + 1}"
        make_track(
            root / style / f"{style}_{i:02d}{ext}",
            style,
            seed=i,
            title=f"{style} {i}",
            artist=f"{style} artist",
            album=album,
            genre=style.title(),
            date="2024-05-01",
        )
    (root / "beat" / "notes.mp3").write_text("this is a text file, not an mp3\n")
    return root
