"""Ways to make a test database refuse writes: SQLite files marked immutable (writes fail at commit, as on a
disk gone read-only) or write-locked by another connection; PostgreSQL made read-only with its connections
dropped."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

EACH_FAULT = pytest.mark.parametrize(
    ("db_url", "fault"),
    [
        ("sqlite", "immutable"),
        ("sqlite", "locked"),
        pytest.param("postgres", "read-only", marks=pytest.mark.postgres),
    ],
    indirect=["db_url"],
)
"""Each fault on the engine it belongs to: a test's ``db_url`` and ``fault``."""


@contextmanager
def unwritable(url: str, fault: str) -> Iterator[None]:
    """The database refuses writes inside the block and accepts them again after it."""
    if fault == "immutable":
        files = [url.removeprefix("sqlite:///")]
        files.append(files[0] + "-wal")
        subprocess.run(["chattr", "+i", *files], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *files], check=True)
        return
    if fault == "locked":
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=None)
    name = make_url(url).database

    def read_only(on: bool) -> None:
        with admin.connect() as connection:
            connection.execute(text("SET default_transaction_read_only = off"))
            connection.execute(
                text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {"on" if on else "off"}')
            )
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )

    read_only(True)
    try:
        yield
    finally:
        read_only(False)
        admin.dispose()


def can_mark_immutable(folder: Path) -> bool:
    """Whether ``chattr`` is there and this file system and user can set the immutable attribute (ext4 and root,
    say)."""
    if shutil.which("chattr") is None:
        return False
    probe = folder / "probe"
    probe.write_text("")
    if subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode != 0:
        return False
    subprocess.run(["chattr", "-i", str(probe)], check=True)
    return True


def skip_unless_possible(fault: str, folder: Path) -> None:
    """Skip an ``immutable`` fault where root cannot be refused a write (no ``chattr +i`` here)."""
    if fault == "immutable" and not can_mark_immutable(folder):
        pytest.skip("root cannot be refused a write here: chattr +i is not available")
