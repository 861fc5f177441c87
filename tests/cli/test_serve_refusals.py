"""``soundalike serve`` refuses to start, with exit status 2 and a JSON error, when it could not serve."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from soundalike.ingest.db.session import open_database

from support.cli_runner import run_main


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder whose SQLite database exists and is migrated."""
    monkeypatch.delenv("SOUNDALIKE_DATABASE_URL", raising=False)
    open_database(f"sqlite:///{tmp_path / 'soundalike.db'}").kw["bind"].dispose()
    return tmp_path


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another socket is listening on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


@pytest.mark.timeout(120)
def test_a_port_in_use_is_refused_with_exit_2(
    home: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, error, err = run_main(monkeypatch, capsys, "--home", str(home), "serve", "--port", str(taken_port))
    assert code == 2 and error["type"] == "ConfigError"
    assert f"127.0.0.1:{taken_port}" in error["error"] and "in use" in error["error"]
    assert "Traceback" not in err


@pytest.mark.timeout(120)
def test_a_damaged_database_is_refused_with_exit_2(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with (home / "soundalike.db").open("r+b") as database:
        database.write(random.Random(23).randbytes(100))
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    code, error, err = run_main(monkeypatch, capsys, "--home", str(home), "serve", "--port", str(port))
    assert code == 2 and error == {
        "error": "the database cannot be used: file is not a database",
        "type": "DatabaseError",
    }
    assert "Traceback" not in err
