"""Shared fixtures: real encoded audio, a real SQLite file and a real PostgreSQL server.

Tests run on SQLite. A test marked ``both_engines`` (one whose behaviour depends on the database engine: SQL,
migrations, locks, concurrency) runs once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from sqlalchemy.orm import Session, sessionmaker
from threadpoolctl import threadpool_limits

from soundalike.ingest.db.session import open_database
from soundalike.ingest.settings import Settings

from support.audio_factory import make_track
from support.databases import POSTGRES_URL, drop_postgres_schema, empty_postgres, migrate
from support.recommend_fixtures import Catalogue, catalogue_settings, close_catalogue, copy_catalogue, make_catalogue

FORMAT_CYCLE = (".wav", ".flac", ".ogg", ".mp3")
ENGINES = ("sqlite", pytest.param("postgres", marks=pytest.mark.postgres))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run a test marked ``both_engines`` on each engine: ``db_url`` takes the engine as its parameter."""
    if metafunc.definition.get_closest_marker("both_engines") and "db_url" in metafunc.fixturenames:
        metafunc.parametrize("db_url", ENGINES, indirect=True)


def pytest_configure(config: pytest.Config) -> None:
    """Under several test workers, each gets its share of the cores for native threads (torch, BLAS, OpenMP),
    here and in the processes its tests start, so the workers do not oversubscribe the machine."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        share = max(1, (os.cpu_count() or 1) // workers)
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ.setdefault(name, str(share))
        torch.set_num_threads(share)
        threadpool_limits(share)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a slow test first (otherwise in collection order): the workers take whole files in this
    order, so they start on the long ones and finish together on short ones instead of one waiting on a tail."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the newest schema, migrated once and copied for each test."""
    path = tmp_path_factory.mktemp("migrated") / "test.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path) -> str:
    """An empty database at the newest schema, or without any table for a test marked ``unmigrated``: a new
    SQLite file, or the PostgreSQL test database emptied."""
    unmigrated = request.node.get_closest_marker("unmigrated") is not None
    if getattr(request, "param", "sqlite") == "sqlite":
        path = tmp_path / "test.db"
        if not unmigrated:
            shutil.copyfile(migrated_sqlite, path)
        return f"sqlite:///{path}"
    if unmigrated:
        drop_postgres_schema()
    else:
        empty_postgres()
    return POSTGRES_URL


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings with a temporary home and the test's database."""
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
def catalogue_template(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    """The synthetic catalogue built once on SQLite; each test works on its own copy."""
    home = tmp_path_factory.mktemp("catalogue") / "home"
    home.mkdir()
    template = make_catalogue(catalogue_settings(home))
    close_catalogue(template)
    return template


@pytest.fixture
def catalogue(tmp_path: Path, db_url: str, catalogue_template: Catalogue) -> Catalogue:
    """The synthetic catalogue: a copy of the SQLite template, or built anew on PostgreSQL."""
    if db_url.startswith("sqlite"):
        return copy_catalogue(catalogue_template, tmp_path / "home")
    home = tmp_path / "home"
    home.mkdir()
    return make_catalogue(catalogue_settings(home, db_url))


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
