"""The test databases: a migrated SQLite file copied for each test, and the PostgreSQL test database.

PostgreSQL is migrated once and emptied between tests by truncating its tables; only the migration tests drop
the schema. Either way the connections an earlier test left open (a server thread's pool, a background job) are
closed first: one of them holding a lock would deadlock the drop or the truncation.
"""

from __future__ import annotations

import os
from functools import cache

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, make_url, text

from soundalike.ingest.db.session import alembic_config, make_engine, upgrade

BASE_POSTGRES_URL = os.environ.get(
    "SOUNDALIKE_TEST_POSTGRES_URL", "postgresql+psycopg://tester:tester@127.0.0.1:5432/soundalike_test"
)


def worker_url(base: str, worker: str | None) -> str:
    """The database of one pytest-xdist worker (``soundalike_test_gw0``, ...): workers never share tables."""
    if not worker:
        return base
    url = make_url(base)
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


POSTGRES_URL = worker_url(BASE_POSTGRES_URL, os.environ.get("PYTEST_XDIST_WORKER"))


@cache
def ensure_postgres_database() -> None:
    """Create this worker's database on the test server when it does not exist yet."""
    if POSTGRES_URL == BASE_POSTGRES_URL:
        return
    name = make_url(POSTGRES_URL).database
    admin = create_engine(BASE_POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


@cache
def head_revision() -> str:
    """The newest migration's revision."""
    head = ScriptDirectory.from_config(alembic_config(POSTGRES_URL)).get_current_head()
    assert head is not None
    return head


def _close_other_connections(connection: Connection) -> None:
    connection.execute(
        text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )


def drop_postgres_schema(url: str = POSTGRES_URL) -> None:
    """Drop every table of the PostgreSQL test database: the migrations start from nothing."""
    ensure_postgres_database()
    engine = create_engine(url)
    with engine.begin() as connection:
        _close_other_connections(connection)
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _revision(connection: Connection) -> str | None:
    if connection.scalar(text("SELECT to_regclass('public.alembic_version')")) is None:
        return None
    return connection.scalar(text("SELECT version_num FROM alembic_version"))


def empty_postgres(url: str = POSTGRES_URL) -> None:
    """Empty every table of the PostgreSQL test database, migrating it first unless it is at the head revision."""
    ensure_postgres_database()
    engine = create_engine(url)
    with engine.begin() as connection:
        _close_other_connections(connection)
        migrated = _revision(connection) == head_revision()
        tables = connection.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
        ).all()
        if migrated and tables:
            names = ", ".join(f'"{table}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    if not migrated:
        drop_postgres_schema(url)
        migrate(url)


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema."""
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
