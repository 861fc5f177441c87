from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.ingest.db.models import IngestRun
from soundalike.ingest.lock import IngestLockedError
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.settings import Settings

pytestmark = pytest.mark.both_engines

CPU = torch.device("cpu")

HOLDER = """
import sys, time
from soundalike.ingest.db.session import make_engine
from soundalike.ingest.lock import ingest_lock
with ingest_lock(make_engine(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def music(library: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    shutil.copy(library / "drone" / "drone_00.wav", folder)
    return folder


@pytest.fixture
def holder(settings: Settings, factory: sessionmaker[Session]) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the ingestion lock of the test database for a minute."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, settings.db_url, "60"], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


@pytest.mark.slow
def test_second_ingest_is_refused_while_another_process_holds_the_lock(
    music: Path, settings: Settings, factory: sessionmaker[Session], holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(IngestLockedError, match="another ingest is running"):
        ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1))
    started = time.monotonic()
    with pytest.raises(IngestLockedError):
        ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1, wait=0.6))
    assert time.monotonic() - started >= 0.5
    result = CliRunner().invoke(
        app,
        ["--home", str(settings.home), "ingest", str(music), "--json"],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url},
    )
    assert isinstance(result.exception, IngestLockedError)
    with factory() as session:
        assert session.scalars(select(IngestRun)).all() == []
    holder.kill()  # a killed holder leaves no stale lock: the server frees it once it sees the connection gone
    holder.wait()
    report = ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1, wait=10))
    assert report.added == 1


def test_waiting_ingest_runs_once_the_other_process_lets_go(
    music: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, settings.db_url, "1.5"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        started = time.monotonic()
        report = ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1, wait=30))
        assert report.added == 1 and time.monotonic() - started > 0.3
    finally:
        process.wait(timeout=30)


@pytest.mark.slow
def test_cli_reports_a_held_lock_as_a_json_error_with_exit_status_2(
    music: Path, settings: Settings, factory: sessionmaker[Session], holder: subprocess.Popen[str]
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from soundalike.cli import main; main()",
            "--home",
            str(settings.home),
            "ingest",
            str(music),
            "--json",
        ],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    error = json.loads(result.stdout.splitlines()[-1])
    assert error["type"] == "IngestLockedError" and "another ingest is running" in error["error"]
