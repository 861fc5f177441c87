"""Engine and session construction; migrations applied on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

import soundalike
from alembic import command
from soundalike.ingest.errors import ConfigError


def migrations_dir() -> Path:
    """Folder of the Alembic environment (``alembic/``, installed as ``soundalike/alembic``)."""
    return Path(soundalike.__file__).resolve().parent / "alembic"


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at the packaged migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@dataclass(frozen=True)
class PoolLimits:
    """How many connections one process keeps, and how long a caller waits for one (then the pool's
    ``TimeoutError``) or, on SQLite, for the write lock another connection holds (then ``database is locked``);
    a server answers either 503 with ``Retry-After``."""

    size: int = 5
    overflow: int = 10
    wait_s: float = 30.0


def _sqlite_pragmas(busy_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    return on_connect


def make_engine(url: str, pool: PoolLimits | None = None) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout."""
    limits = pool or PoolLimits()
    engine = create_engine(
        url, pool_pre_ping=True, pool_size=limits.size, max_overflow=limits.overflow, pool_timeout=limits.wait_s
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(round(limits.wait_s * 1000)))
    return engine


def driver_message(error: SQLAlchemyError) -> str:
    """The first line of what the database driver said about ``error``."""
    return str(getattr(error, "orig", None) or error).splitlines()[0]


# Alembic keeps the running migration's context in module globals, so two threads migrating at once
# (a scheduled ingest beside a request, say) would clobber each other: one migration at a time.
_MIGRATION_LOCK = threading.Lock()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration up to ``revision`` (a no-op on a database already there)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with _MIGRATION_LOCK, engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def open_database(url: str, pool: PoolLimits | None = None) -> sessionmaker[Session]:
    """Engine for ``url`` (connections limited by ``pool``), migrated to the latest schema, wrapped in a session
    factory."""
    engine = make_engine(url, pool)
    upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)


def database_engine(factory: sessionmaker[Session]) -> Engine:
    """The engine a session factory from ``open_database`` is bound to."""
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine):
        raise ConfigError("the session factory is not bound to an engine")
    return bind


def close_database(factory: sessionmaker[Session]) -> None:
    """Close every pooled connection of ``factory``'s engine (a short-lived job's database, at its end)."""
    database_engine(factory).dispose()


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
