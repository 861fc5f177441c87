"""``soundalike schedule``: ingest the configured folders (and sync media servers) periodically."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from soundalike.cli.app import app
from soundalike.cli.output import JsonOption, State, emit, stderr

SYNC_JOB_ID = "soundalike-sync"


@app.command()
def schedule(
    paths: Annotated[list[Path] | None, typer.Argument(help="Folders (default $SOUNDALIKE_SCHEDULE_ROOTS).")] = None,
    interval_minutes: Annotated[
        float | None, typer.Option(help="Minutes between runs (default $SOUNDALIKE_SCHEDULE_INTERVAL_MINUTES).")
    ] = None,
    cron: Annotated[
        str | None, typer.Option(help="Crontab schedule in UTC (default $SOUNDALIKE_SCHEDULE_CRON).")
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Decoding processes per run (default: all cores).")] = None,
    sync: Annotated[
        bool, typer.Option("--sync", help="Also sync every stored media server on the same schedule.")
    ] = False,
    once: Annotated[bool, typer.Option("--once", help="Run one ingestion (and sync) now and exit.")] = False,
    run_for: Annotated[float | None, typer.Option(help="Stop the scheduler after this many seconds.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run ingestion on a schedule (interval or cron), one run at a time, jobs kept in the database.

    Of several schedulers on one database one leads; the others wait on standby to take over.
    """
    from soundalike.ingest.lock import LockHeldError
    from soundalike.ingest.schedule import (
        ScheduledJob,
        build_scheduler,
        build_trigger,
        leading,
        run_scheduler,
        scheduled_ingest,
    )
    from soundalike.recommend.media_sync.run import scheduled_sync

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = State.settings()
    roots = paths or settings.schedule_root_paths
    home = str(settings.home.absolute())
    jobs = [ScheduledJob(SYNC_JOB_ID, "soundalike sync", scheduled_sync, {"home": home})] if sync else []
    if once:
        report = scheduled_ingest([str(r.absolute()) for r in roots], home, workers) if roots else None
        synced = scheduled_sync(home) if sync else None
        data = {
            "runs": 0 if report is None else 1,
            "report": None if report is None else report.as_dict(),
            "sync": None if synced is None else synced.as_dict(),
        }
        emit(data, as_json, lambda: stderr.print(f"ran {data['runs']} ingest"))
        return
    trigger = build_trigger(
        interval_minutes=interval_minutes or settings.schedule_interval_minutes, cron=cron or settings.schedule_cron
    )
    led = False
    try:
        with leading(settings, run_for=run_for) as remaining:
            led = True
            scheduler = build_scheduler(settings, roots, trigger, workers=workers, jobs=jobs)
            stderr.print(f"ingesting {', '.join(map(str, roots))}{' and syncing' if sync else ''} on {trigger}")
            run_scheduler(scheduler, run_for=remaining)
    except LockHeldError:
        stderr.print("another scheduler led the whole time")
    stopped = {"stopped": True, "trigger": str(trigger), "led": led}
    emit(stopped, as_json, lambda: stderr.print("scheduler stopped"))
