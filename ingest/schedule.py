"""Periodic ingestion with APScheduler 3: jobs kept in the catalogue database, one run at a time.

Several scheduler processes may start on one database (one per replica): the one holding the database's
scheduler lock leads and runs the jobs; the others wait on standby and the first to get the lock takes
over when the leader stops or dies. The job's next run time lives in the job table, so a new leader does
not run a job again before it is due. The ingest lock still keeps a scheduled run from overlapping a
manual ``soundalike ingest``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from soundalike.ingest.db.session import close_database, make_engine, open_database
from soundalike.ingest.device import resolve_device
from soundalike.ingest.errors import ConfigError, SoundalikeError
from soundalike.ingest.lock import IngestLockedError, LockHeldError, database_lock, where
from soundalike.ingest.paths import absolute_path
from soundalike.ingest.pipeline import IngestOptions, IngestReport, ingest
from soundalike.ingest.settings import Settings, load_settings

JOB_ID = "soundalike-ingest"
JOBS_TABLE = "apscheduler_jobs"
SCHEDULER_LOCK = "scheduler"
log = logging.getLogger("soundalike.schedule")


def scheduled_ingest(roots: list[str], home: str | None = None, workers: int | None = None) -> IngestReport | None:
    """One scheduled ingestion of ``roots``; a run refused by another run's lock is logged and skipped.

    Each run loads the settings afresh, so it resolves their device once, here.
    """
    settings = load_settings(Path(home) if home else None)
    factory = open_database(settings.db_url)
    try:
        device = resolve_device(settings.device)
        report = ingest(
            factory, [Path(r) for r in roots], IngestOptions(settings=settings, device=device, workers=workers)
        )
    except IngestLockedError as exc:
        log.warning("ingest skipped: %s", exc)
        return None
    except SoundalikeError as exc:
        log.error("ingest failed: %s", exc)
        return None
    finally:
        close_database(factory)
    log.info(
        "ingest run %d: added %d, updated %d, skipped %d, failed %d, moved %d, deleted %d, duplicates %d in %.1f s",
        report.run_id,
        report.added,
        report.updated,
        report.skipped,
        report.failed,
        report.moved,
        report.deleted,
        report.duplicates,
        report.seconds,
    )
    return report


def build_trigger(*, interval_minutes: float | None, cron: str | None) -> BaseTrigger:
    """A cron trigger (crontab text, UTC) when ``cron`` is given, else an interval trigger."""
    if cron:
        try:
            return CronTrigger.from_crontab(cron, timezone=UTC)
        except ValueError as exc:
            raise ConfigError(f"schedule cron {cron!r} is not a crontab expression: {exc}") from exc
    if interval_minutes is None or interval_minutes <= 0:
        raise ConfigError("no schedule: set SOUNDALIKE_SCHEDULE_INTERVAL_MINUTES or SOUNDALIKE_SCHEDULE_CRON")
    return IntervalTrigger(seconds=interval_minutes * 60, timezone=UTC)


@dataclass(frozen=True)
class ScheduledJob:
    """A job a later stage runs on the same schedule and leader lock (wired by the CLI): a module-level
    function, called with ``kwargs``."""

    id: str
    name: str
    func: Callable[..., object]
    kwargs: dict[str, object] = field(default_factory=dict)


def build_scheduler(
    settings: Settings,
    roots: list[Path],
    trigger: BaseTrigger,
    *,
    workers: int | None = None,
    ingest_job: Callable[..., object] = scheduled_ingest,
    jobs: Sequence[ScheduledJob] = (),
) -> BlockingScheduler:
    """A blocking scheduler whose ingest job (when there are ``roots``) and ``jobs`` live in the catalogue
    database's ``apscheduler_jobs``.

    ``ingest_job`` runs each time with (roots, home, workers): ``scheduled_ingest``, or a module-level function that
    calls it and then does what a later stage wants after an ingest (the job table stores it by import name).

    A job never runs twice at once (``max_instances=1``) and missed runs collapse into one
    (``coalesce``); it keeps the next run time stored by an earlier scheduler, and an interval schedule
    without one runs at once on start.
    """
    if not roots and not jobs:
        raise ConfigError("no folders to ingest: name them or set SOUNDALIKE_SCHEDULE_ROOTS")
    jobstore = SQLAlchemyJobStore(engine=make_engine(settings.db_url), tablename=JOBS_TABLE)
    scheduler = BlockingScheduler(
        jobstores={"default": jobstore}, job_defaults={"max_instances": 1, "coalesce": True}, timezone=UTC
    )
    ingest = ScheduledJob(
        JOB_ID,
        "soundalike ingest",
        ingest_job,
        {"roots": [str(absolute_path(r)) for r in roots], "home": str(settings.home.absolute()), "workers": workers},
    )
    for job in ([ingest] if roots else []) + list(jobs):
        stored = _stored_next_run(jobstore, job.id)
        first_run = stored or (datetime.now(UTC) if isinstance(trigger, IntervalTrigger) else None)
        scheduler.add_job(
            job.func,
            trigger,
            id=job.id,
            name=job.name,
            replace_existing=True,
            kwargs=job.kwargs,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            **({"next_run_time": first_run} if first_run else {}),
        )
    return scheduler


def _stored_next_run(jobstore: SQLAlchemyJobStore, job_id: str = JOB_ID) -> datetime | None:
    """When a stored job runs next, if an earlier scheduler left it in the job table."""
    jobstore.jobs_t.create(jobstore.engine, checkfirst=True)
    column, key = jobstore.jobs_t.c.next_run_time, jobstore.jobs_t.c.id
    with jobstore.engine.connect() as connection:
        stamp = connection.scalar(select(column).where(key == job_id))
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC)


@contextmanager
def leading(settings: Settings, *, run_for: float | None = None) -> Iterator[float | None]:
    """Hold the database's scheduler lock, waiting on standby while another scheduler leads.

    Yields the seconds left of ``run_for`` once leading (None: no limit); raises ``LockHeldError`` when
    ``run_for`` passes on standby.
    """
    deadline = None if run_for is None else time.monotonic() + run_for
    engine = make_engine(settings.db_url)
    refusal = LockHeldError(f"another scheduler leads on {where(engine)}")
    try:
        try:
            with database_lock(engine, SCHEDULER_LOCK, wait=None, refusal=refusal):
                yield run_for
                return
        except LockHeldError as exc:
            if exc is not refusal:
                raise
        log.info("standby: another scheduler leads on %s", where(engine))
        wait = math.inf if deadline is None else max(deadline - time.monotonic(), 0.0)
        with database_lock(engine, SCHEDULER_LOCK, wait=wait, refusal=refusal):
            log.info("leading: took over the schedule")
            yield None if deadline is None else max(deadline - time.monotonic(), 0.0)
    finally:
        engine.dispose()


def run_scheduler(scheduler: BlockingScheduler, *, run_for: float | None = None) -> None:
    """Run ``scheduler`` until interrupted, or for ``run_for`` seconds (letting a running job finish)."""
    timer = None
    if run_for is not None:
        timer = threading.Timer(run_for, scheduler.shutdown)
        timer.daemon = True
        timer.start()
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("scheduler stopped")
    finally:
        if timer is not None:
            timer.cancel()
            timer.join()  # a shutdown already under way waits for the running job before we return
