"""One ingestion at a time per database: a PostgreSQL advisory lock, or a file lock beside a SQLite file.

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

LOCK_NAME = b"soundalike.ingest"
POLL_SECONDS = 0.2


class IngestLockedError(SoundalikeError):
    """Another ingestion holds the lock of this database."""


def advisory_key(name: bytes = LOCK_NAME) -> int:
    """The signed 64-bit key of the PostgreSQL advisory lock named ``name``."""
    return int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)


def _refusal(engine: Engine) -> IngestLockedError:
    where = engine.url.render_as_string(hide_password=True)
    return IngestLockedError(f"another ingest is running on {where}; try again when it ends, or pass --wait")


@contextmanager
def _postgres_lock(engine: Engine, wait: float | None) -> Iterator[None]:
    deadline = None if wait is None else time.monotonic() + wait
    key = advisory_key()
    with engine.connect() as connection:
        while not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}):
            connection.rollback()
            if deadline is None or time.monotonic() >= deadline:
                raise _refusal(engine)
            time.sleep(POLL_SECONDS)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()


@contextmanager
def _file_lock(engine: Engine, database: str, wait: float | None) -> Iterator[None]:
    lock = FileLock(f"{database}.ingest.lock")
    try:
        lock.acquire(timeout=0 if wait is None else wait, poll_interval=POLL_SECONDS)
    except Timeout as exc:
        raise _refusal(engine) from exc
    try:
        yield
    finally:
        lock.release()


@contextmanager
def ingest_lock(engine: Engine, *, wait: float | None = None) -> Iterator[None]:
    """Hold the ingestion lock of ``engine``'s database for the ``with`` block.

    ``wait`` is None to refuse at once when another process holds it (IngestLockedError), or the
    seconds to wait for it first. An in-memory SQLite database needs no lock.
    """
    if engine.dialect.name == "postgresql":
        with _postgres_lock(engine, wait):
            yield
        return
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        with _file_lock(engine, database, wait):
            yield
        return
    yield
