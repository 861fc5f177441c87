"""Named locks per database: one ingestion at a time, one leading scheduler. A PostgreSQL advisory lock, or a
file lock beside a SQLite file.

Both locks belong to the process holding them and vanish when it dies, so a killed run never leaves a
stale lock behind.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text

from soundalike.ingest.errors import SoundalikeError

INGEST_LOCK = "ingest"
POLL_SECONDS = 0.2


class LockHeldError(SoundalikeError):
    """Another process holds this lock of the database."""


class IngestLockedError(LockHeldError):
    """Another ingestion holds the lock of this database."""


def advisory_key(name: str = INGEST_LOCK) -> int:
    """The signed 64-bit key of the PostgreSQL advisory lock named ``name``."""
    digest = hashlib.blake2b(f"soundalike.{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def where(engine: Engine) -> str:
    """The database ``engine`` points at, without its password."""
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def _postgres_lock(engine: Engine, name: str, wait: float | None, refusal: LockHeldError) -> Iterator[None]:
    deadline = None if wait is None else time.monotonic() + wait
    key = advisory_key(name)
    with engine.connect() as connection:
        while not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}):
            connection.rollback()
            if deadline is None or time.monotonic() >= deadline:
                raise refusal
            time.sleep(POLL_SECONDS)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()


@contextmanager
def _file_lock(database: str, name: str, wait: float | None, refusal: LockHeldError) -> Iterator[None]:
    lock = FileLock(f"{database}.{name}.lock")
    try:
        lock.acquire(timeout=0 if wait is None else wait, poll_interval=POLL_SECONDS)
    except Timeout as exc:
        raise refusal from exc
    try:
        yield
    finally:
        lock.release()


@contextmanager
def database_lock(engine: Engine, name: str, *, wait: float | None, refusal: LockHeldError) -> Iterator[None]:
    """Hold the lock ``name`` of ``engine``'s database for the ``with`` block.

    ``wait`` is None to raise ``refusal`` at once when another process holds it, or the seconds to wait
    for it first (``math.inf``: until it is free). An in-memory SQLite database needs no lock.
    """
    if engine.dialect.name == "postgresql":
        with _postgres_lock(engine, name, wait, refusal):
            yield
        return
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        with _file_lock(database, name, wait, refusal):
            yield
        return
    yield


@contextmanager
def ingest_lock(engine: Engine, *, wait: float | None = None) -> Iterator[None]:
    """Hold the ingestion lock of ``engine``'s database: ``IngestLockedError`` when another run holds it
    past ``wait`` seconds (None: refuse at once)."""
    refusal = IngestLockedError(f"another ingest is running on {where(engine)}; try again when it ends, or pass --wait")
    with database_lock(engine, INGEST_LOCK, wait=wait, refusal=refusal):
        yield
