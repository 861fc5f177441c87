"""Retraining from the review page: ``genres train`` then ``genres predict`` as one background job with progress."""

from __future__ import annotations

import itertools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from soundalike.embed.genre_head import predict_genres, train_genre_head
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.errors import SoundalikeError
from soundalike.recommend.service import Service

STEPS = ("queued", "training", "predicting", "refreshing", "done")
log = logging.getLogger(__name__)


@dataclass
class RetrainJob:
    """One retraining run: where it is (a step of ``STEPS``, or ``failed``) and what it found."""

    job_id: int
    state: str = "queued"
    message: str = ""

    @property
    def running(self) -> bool:
        """Whether the job has yet to finish."""
        return self.state not in ("done", "failed")

    @property
    def progress(self) -> int:
        """How far the job is, in percent."""
        return 100 if not self.running else round(100 * STEPS.index(self.state) / (len(STEPS) - 1))


class Retrainer:
    """Runs retraining jobs one at a time in a background thread and remembers each job's state."""

    def __init__(self) -> None:
        """No job yet."""
        self.jobs: dict[int, RetrainJob] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="retrain")

    def start(self, service: Service) -> RetrainJob:
        """Queue a job, or return the one still running (retraining twice at once gains nothing)."""
        with self._lock:
            for job in self.jobs.values():
                if job.running:
                    return job
            job = RetrainJob(next(self._ids))
            self.jobs[job.job_id] = job
        self._pool.submit(self._run, service, job)
        return job

    def latest(self) -> RetrainJob | None:
        """The most recent job, if any."""
        return self.jobs[max(self.jobs)] if self.jobs else None

    def _run(self, service: Service, job: RetrainJob) -> None:
        settings = service.settings
        try:
            job.state = "training"
            with session_scope(service.factory) as session:
                meta = train_genre_head(
                    session, settings.models_dir, model_name=settings.embedding_model, tagger=settings.genre_tagger
                )
            job.state = "predicting"
            with session_scope(service.factory) as session:
                count = predict_genres(session, settings.models_dir)
            job.state = "refreshing"
            table = service.index.table
            with session_scope(service.factory) as session:
                table.refresh_genres(session, table.ids.tolist())
            accuracy = "" if meta.accuracy is None else f", held-out accuracy {meta.accuracy:.2f}"
            job.message = f"genre model {meta.version} on {', '.join(meta.classes)}{accuracy}; {count} tracks predicted"
            job.state = "done"
        except SoundalikeError as exc:
            job.message, job.state = str(exc), "failed"
        except Exception:
            log.exception("retraining job %d failed", job.job_id)
            job.message, job.state = "internal error (see the server log)", "failed"

    def close(self) -> None:
        """Wait for a running job to finish."""
        self._pool.shutdown(wait=True)
