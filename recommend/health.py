"""Whether the service can do its job: the database answers, is sound and takes writes; the saved index is readable.

The served index lives in memory and keeps answering when its files or the database break; health says so
(``degraded``) instead of claiming all is well, so a load balancer or an operator can act.

The database is checked through connections of its own with short timeouts, never the request pool, and off
the request threads, so a saturated pool cannot hold ``/health`` up. Every probe asks whether the database
answers a read on a fresh connection (pooled connections keep working on a file whose header was
overwritten). Soundness is costlier (SQLite's ``quick_check`` reads the whole file), so it runs on a timer and
its last verdict is reported in between: the integrity check on SQLite, then a committed write that changes
nothing (``alembic_version`` rewritten with its own value), then on SQLite a checkpoint, because a write lands
in the WAL file first and only the checkpoint shows whether the database file itself takes it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from functools import lru_cache
from pathlib import Path

import anyio
import anyio.to_thread
from sqlalchemy import Engine, NullPool, create_engine, make_url, select, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from soundalike.index.track_index import check_files, read_meta
from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import driver_message
from soundalike.ingest.errors import SoundalikeError
from soundalike.recommend.service import Service

PROBE_TIMEOUT_S = 1.0
BUSY_TIMEOUT_S = 0.5
WRITE_PROBE = text("UPDATE alembic_version SET version_num = version_num")
log = logging.getLogger(__name__)


class DatabaseCheck:
    """The database as health sees it, through short-lived connections of its own."""

    def __init__(self, url: str) -> None:
        """Check the database at ``url``; nothing is opened until a check runs."""
        self.sqlite_path = _sqlite_path(url)
        self.engine = _probe_engine(url, self.sqlite_path)
        self.verdict: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def answers(self) -> str | None:
        """Why the database does not answer a read, or None."""
        try:
            with self.engine.connect() as connection:
                connection.execute(select(Track.id).limit(1)).all()
        except SQLAlchemyError as error:
            return driver_message(error)
        return None

    def sound(self) -> str | None:
        """Check integrity and writability now; why the database is damaged or refuses a write, or None.

        A probe that finds another writer holding the lock proves nothing either way and keeps the last verdict.
        A write that fails because the file was made unwritable while it ran is reported as that, not as the
        driver's I/O error.
        """
        try:
            self.verdict = self._unwritable_file() or self._probe()
        except OperationalError as error:
            if not _busy(error):
                self.verdict = self._unwritable_file() or driver_message(error)
        except SQLAlchemyError as error:
            self.verdict = self._unwritable_file() or driver_message(error)
        return self.verdict

    def problem(self) -> str | None:
        """Why the database cannot serve: it does not answer now, or the last soundness check failed; None if fine."""
        return self.answers() or self.verdict

    def start(self, every: float) -> DatabaseCheck:
        """Check soundness now and then every ``every`` seconds in a daemon thread; returns itself."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(every,), name="database-check", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the timer, wait for a running check and close the connections."""
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join()
        self.engine.dispose()

    def _run(self, every: float) -> None:
        while not self._stop.is_set():
            try:
                self.sound()
            except Exception:  # noqa: BLE001 - a failed check must not end the timer; the next one retries
                log.exception("checking the database failed")
            self._stop.wait(every)

    def _unwritable_file(self) -> str | None:
        if self.sqlite_path is None:
            return None
        for path in (self.sqlite_path, self.sqlite_path.parent):
            if not os.access(path, os.W_OK):
                return f"{path} is not writable"
        return None

    def _probe(self) -> str | None:
        with self.engine.connect() as connection:
            if self.sqlite_path is not None:
                found = list(connection.exec_driver_sql("PRAGMA quick_check").scalars())
                if found != ["ok"]:
                    return "the integrity check failed: " + "; ".join(map(str, found[:3]))
            connection.execute(WRITE_PROBE)
            connection.commit()
            if self.sqlite_path is not None:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        return None


class Health:
    """The health of one server process, checked off the request threads within ``PROBE_TIMEOUT_S``."""

    def __init__(self, database: DatabaseCheck) -> None:
        """Report on ``database`` and on the index of the service asked about."""
        self.database = database
        self._limiter = anyio.CapacityLimiter(4)

    async def problems(self, service: Service) -> dict[str, str]:
        """What is wrong, by component (``database``, ``index``); empty when healthy."""
        problems: dict[str, str] = {}
        database: str | None = f"no answer within {PROBE_TIMEOUT_S:g} s"
        with anyio.move_on_after(PROBE_TIMEOUT_S):
            database = await anyio.to_thread.run_sync(
                self.database.problem, limiter=self._limiter, abandon_on_cancel=True
            )
        if database is not None:
            problems["database"] = database
        index = await anyio.to_thread.run_sync(index_problem, service, limiter=self._limiter)
        if index is not None:
            problems["index"] = index
        return problems


def index_problem(service: Service) -> str | None:
    """Why the saved index cannot be loaded, or why the last reload failed; None when neither."""
    problem = saved_index_problem(service.settings.index_dir, service.index.meta.model_name)
    if problem is None and service.index.last_error:
        problem = f"the last reload failed: {service.index.last_error}"
    return problem


def saved_index_problem(directory: Path, model_name: str) -> str | None:
    """Why the saved index of ``model_name`` cannot be loaded, or None; checksums are verified once per
    version of the files (keyed by their sizes and modification times), not on every probe."""
    try:
        meta = read_meta(directory, model_name)
        signature = tuple((name, *_stat(directory / name)) for name in meta.files)
    except (SoundalikeError, OSError) as error:
        return str(error)
    return _checked(directory, model_name, signature)


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).resolve()


def _probe_engine(url: str, sqlite_path: Path | None) -> Engine:
    """A fresh connection per check: SQLite opened read-write without creating a missing file and with a short
    busy timeout; PostgreSQL with short connect, statement and lock timeouts."""
    if sqlite_path is not None:
        uri = f"{sqlite_path.as_uri()}?mode=rw"
        return create_engine(
            "sqlite://", poolclass=NullPool, creator=lambda: sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
        )
    if make_url(url).get_backend_name() == "postgresql":
        limit_ms = int(PROBE_TIMEOUT_S * 1000)
        options = f"-c statement_timeout={limit_ms} -c lock_timeout={int(BUSY_TIMEOUT_S * 1000)}"
        return create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 2, "options": options})
    return create_engine(url, poolclass=NullPool)


def _busy(error: OperationalError) -> bool:
    driver_error = error.orig
    if isinstance(driver_error, sqlite3.OperationalError):
        return "locked" in str(driver_error)
    return getattr(driver_error, "sqlstate", None) == "55P03"


def _stat(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@lru_cache(maxsize=8)
def _checked(directory: Path, model_name: str, signature: tuple[tuple[str, int, int], ...]) -> str | None:
    try:
        check_files(directory, read_meta(directory, model_name))
    except SoundalikeError as error:
        return str(error)
    return None
