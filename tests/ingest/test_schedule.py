from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.ingest.db.models import IngestRun
from soundalike.ingest.errors import ConfigError
from soundalike.ingest.schedule import JOBS_TABLE, build_trigger
from soundalike.ingest.settings import Settings

pytestmark = pytest.mark.both_engines


@pytest.fixture
def music(library: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    shutil.copy(library / "drone" / "drone_00.wav", folder)
    shutil.copy(library / "beat" / "beat_01.wav", folder)
    return folder


def schedule(settings: Settings, *args: str, **env: str) -> dict[str, object]:
    result = CliRunner().invoke(
        app,
        ["--home", str(settings.home), "schedule", *args, "--workers", "1", "--json"],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url, **env},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.slow
def test_interval_schedule_runs_ingest_repeatedly_never_two_at_once(
    music: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    data = schedule(
        settings,
        "--run-for",
        "6",
        SOUNDALIKE_SCHEDULE_INTERVAL_MINUTES=str(1 / 60),
        SOUNDALIKE_SCHEDULE_ROOTS=str(music),
    )
    assert data["stopped"] is True
    with factory() as session:
        runs = session.scalars(select(IngestRun).order_by(IngestRun.started_at)).all()
        tables = set(inspect(session.connection()).get_table_names())
    assert len(runs) >= 2
    assert all(r.status == "finished" and r.finished_at is not None for r in runs)
    assert runs[0].added == 2 and all(r.skipped == 2 for r in runs[1:])
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier.finished_at is not None and later.started_at >= earlier.finished_at
    assert JOBS_TABLE in tables


def test_once_runs_a_single_ingest_of_the_named_folder(
    music: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    data = schedule(settings, str(music), "--once")
    assert data["runs"] == 1
    report = data["report"]
    assert isinstance(report, dict) and report["added"] == 2
    with factory() as session:
        assert len(session.scalars(select(IngestRun)).all()) == 1


def test_a_run_that_changed_the_catalogue_cuts_the_mixes_afresh(
    music: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    from soundalike.recommend.mix_store import stored_mixes

    assert schedule(settings, str(music), "--once", SOUNDALIKE_EMBEDDING_MODEL="musicnn-msd")["runs"] == 1
    with factory() as session:
        mixes = stored_mixes(session)
    assert len(mixes) == 1 and len(mixes[0][2]) == 2 and mixes[0][1]


def test_trigger_comes_from_cron_or_interval_and_refuses_neither() -> None:
    assert "cron" in str(build_trigger(interval_minutes=None, cron="*/5 * * * *"))
    assert "interval" in str(build_trigger(interval_minutes=2, cron=None))
    with pytest.raises(ConfigError, match="no schedule"):
        build_trigger(interval_minutes=None, cron=None)
    with pytest.raises(ConfigError, match="not a crontab"):
        build_trigger(interval_minutes=None, cron="every tuesday")


def start_scheduler(settings: Settings, music: Path, run_for: float, log: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "SOUNDALIKE_DATABASE_URL": settings.db_url, "SOUNDALIKE_EMBEDDING_MODEL": "mfcc-stats"}
    command = [str(Path(sys.executable).parent / "soundalike"), "--home", str(settings.home), "schedule", str(music)]
    options = ["--interval-minutes", "1", "--run-for", str(run_for), "--workers", "1", "--json"]
    return subprocess.Popen([*command, *options], env=env, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_scheduler_processes_run_each_due_job_once_and_the_standby_takes_over(
    music: Path, settings: Settings, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """The first leads and ingests; the second waits on standby, takes over when the first dies, and does not
    run the job again before it is due (the next run time is kept in the job table)."""
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start_scheduler(settings, music, 300, first_log)
    second = None
    try:
        deadline = time.monotonic() + 120
        while not finished_runs(factory):
            assert first.poll() is None and time.monotonic() < deadline, first_log.read_text()
            time.sleep(0.2)
        second = start_scheduler(settings, music, 8, second_log)
        while "standby" not in second_log.read_text():
            assert second.poll() is None and time.monotonic() < deadline, second_log.read_text()
            time.sleep(0.1)
    finally:
        first.kill()
        first.wait(30)
    output = json.loads(second.communicate(timeout=90)[0].splitlines()[-1])
    assert output["led"] is True and "took over" in second_log.read_text()
    assert finished_runs(factory) == [2]


def finished_runs(factory: sessionmaker[Session]) -> list[int]:
    """How many files each finished ingest run added."""
    with factory() as session:
        return [r.added for r in session.scalars(select(IngestRun).where(IngestRun.status == "finished"))]
