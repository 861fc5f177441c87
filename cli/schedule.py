"""``soundalike schedule``: ingest the configured folders periodically, then embed and cut the mixes afresh;
sync media servers on the same lock."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from soundalike.cli.app import app
from soundalike.cli.output import JsonOption, State, emit, stderr

SYNC_JOB_ID = "soundalike-sync"

if TYPE_CHECKING:
    from soundalike.ingest.pipeline import IngestReport

log = logging.getLogger("soundalike.schedule")


def ingest_then_mixes(roots: list[str], home: str | None = None, workers: int | None = None) -> IngestReport | None:
    """The scheduled job: one ingestion (``scheduled_ingest``), then, when it changed the catalogue, the tracks
    without a current embedding of the configured model embedded (with their tag probabilities) and the mixes cut
    afresh from them; a failure there is logged and the next run tries again."""
    from soundalike.embed.models import embedding_model
    from soundalike.ingest.db.session import close_database, open_database, session_scope
    from soundalike.ingest.device import resolve_device
    from soundalike.ingest.errors import SoundalikeError
    from soundalike.ingest.schedule import scheduled_ingest
    from soundalike.ingest.settings import load_settings
    from soundalike.recommend.mix_store import refresh_mixes

    report = scheduled_ingest(roots, home, workers)
    if report is None or not (report.added or report.updated or report.moved or report.deleted):
        return report
    settings = load_settings(Path(home) if home else None)
    factory = open_database(settings.db_url)
    try:
        model = embedding_model(settings, resolve_device(settings.device))
        with session_scope(factory) as session:
            model.refresh(session)
            session.flush()
            made = refresh_mixes(session, model.name)
        log.info("mixes refreshed: %d mixes", len(made))
    except SoundalikeError as exc:
        log.error("mixes refresh failed: %s", exc)
    finally:
        close_database(factory)
    return report


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
    """Run ingestion on a schedule (interval or cron), one run at a time, jobs kept in the database; after a run
    that changed the catalogue, new tracks are embedded and the mixes cut afresh.

    Of several schedulers on one database one leads; the others wait on standby to take over.
    """
    from soundalike.ingest.lock import LockHeldError
    from soundalike.ingest.paths import absolute_path
    from soundalike.ingest.schedule import (
        ScheduledJob,
        build_scheduler,
        build_trigger,
        leading,
        run_scheduler,
    )
    from soundalike.recommend.media_sync.run import scheduled_sync

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = State.settings()
    roots = paths or settings.schedule_root_paths
    home = str(settings.home.absolute())
    jobs = [ScheduledJob(SYNC_JOB_ID, "soundalike sync", scheduled_sync, {"home": home})] if sync else []
    if once:
        report = ingest_then_mixes([str(absolute_path(r)) for r in roots], home, workers) if roots else None
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
            scheduler = build_scheduler(
                settings, roots, trigger, workers=workers, ingest_job=ingest_then_mixes, jobs=jobs
            )
            stderr.print(f"ingesting {', '.join(map(str, roots))}{' and syncing' if sync else ''} on {trigger}")
            run_scheduler(scheduler, run_for=remaining)
    except LockHeldError:
        stderr.print("another scheduler led the whole time")
    stopped = {"stopped": True, "trigger": str(trigger), "led": led}
    emit(stopped, as_json, lambda: stderr.print("scheduler stopped"))
