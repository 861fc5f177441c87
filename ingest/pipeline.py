"""Ingestion runs: scan, sync against the catalogue, analyse with an engine (``ingest.engine``), store per batch.

One run at a time per database (``ingest.lock``). A track row, its features, its tag genres and what
an ``AnalysisConsumer`` adds are committed in one transaction, every ``settings.ingest_batch_size`` files, so a killed
run keeps whole tracks only; the next run marks it ``interrupted`` and carries on where it stopped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from soundalike.ingest.analysis import AudioFrontEnd, FileAnalysis
from soundalike.ingest.db.models import IngestRun, Track, utcnow
from soundalike.ingest.db.session import database_engine, session_scope
from soundalike.ingest.engine import AnalysisEngine, EncoderFactory, local_engine
from soundalike.ingest.errors import ConfigError, NotFoundError
from soundalike.ingest.hashing import content_hash
from soundalike.ingest.lock import ingest_lock
from soundalike.ingest.paths import absolute_path, exact_path_b64, readable_path, to_db_path
from soundalike.ingest.repository import clear_track_genres, set_track_features, set_track_genre, track_by_path
from soundalike.ingest.scan import scan
from soundalike.ingest.settings import Settings
from soundalike.ingest.sync import Known, OnDisk, SyncPlan, plan_sync

if TYPE_CHECKING:
    import torch

OUTSIDE = "a symlink that leads out of the ingested folders (--follow-symlinks follows it)"


class AnalysisConsumer(Protocol):
    """Receives each stored analysis (e.g. to embed the decoded audio) inside the ingest transaction.

    An analysis arrives with ``patches`` for the consumer to encode, or already ``encoded`` by an engine's
    workers (``make_encoder``).
    """

    @property
    def front_end(self) -> AudioFrontEnd:
        """What the decoding workers compute for this consumer from each file's audio (``FileAnalysis.patches``)."""
        ...

    @property
    def make_encoder(self) -> EncoderFactory | None:
        """Builds the consumer's network on a device, for engines that encode in workers of their own; None
        when the consumer has no network for them to run."""
        ...

    def consume(self, session: Session, track_id: int, analysis: FileAnalysis) -> None:
        """Use one successful analysis of the track ``track_id``, already stored in ``session``."""

    def flush(self, session: Session) -> None:
        """Write what is buffered into ``session``; called right before every commit."""


@dataclass
class IngestReport:
    """Counts and failures of one ingestion run."""

    run_id: int
    added: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    moved: int = 0
    deleted: int = 0
    duplicates: int = 0
    revived: int = 0
    seconds: float = 0.0
    failures: list[dict[str, str | None]] = field(default_factory=list)
    unreadable: list[dict[str, str]] = field(default_factory=list)
    not_followed: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form, as printed by ``soundalike ingest --json``."""
        return {
            "run_id": self.run_id,
            "added": self.added,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": self.failed,
            "moved": self.moved,
            "deleted": self.deleted,
            "duplicates": self.duplicates,
            "revived": self.revived,
            "seconds": round(self.seconds, 3),
            "failures": self.failures,
            "unreadable": self.unreadable,
            "not_followed": self.not_followed,
        }

    def write_to(self, run: IngestRun) -> None:
        """Copy the counts onto the run's row."""
        run.added, run.updated, run.skipped, run.failed = self.added, self.updated, self.skipped, self.failed
        run.moved, run.deleted, run.duplicates = self.moved, self.deleted, self.duplicates
        run.seconds = self.seconds


def _clean(text: str | None) -> str | None:
    """Text as a database column accepts it (PostgreSQL refuses NUL characters)."""
    return None if text is None else text.replace("\x00", "")


def store_analysis(
    session: Session, analysis: FileAnalysis, track: Track | None, *, duplicate_of: int | None = None
) -> Track:
    """Insert or update the track row, its features and its tag genres from one analysis."""
    if track is None:
        track = Track(path=to_db_path(analysis.path), size=analysis.size, mtime=analysis.mtime)
        session.add(track)
    track.size, track.mtime = analysis.size, analysis.mtime
    track.content_hash = analysis.content_hash
    track.duration, track.sample_rate, track.channels = (analysis.duration, analysis.sample_rate, analysis.channels)
    track.title, track.artist = _clean(analysis.tags.title), _clean(analysis.tags.artist)
    track.album, track.year = _clean(analysis.tags.album), analysis.tags.year
    features = analysis.features
    track.bpm = analysis.tags.bpm
    track.tempo, track.key = (features.tempo, features.key) if features else (None, None)
    track.musicbrainz_track_id = analysis.tags.musicbrainz_track_id
    track.musicbrainz_artist_id = analysis.tags.musicbrainz_artist_id
    track.musicbrainz_album_id = analysis.tags.musicbrainz_album_id
    track.status = "failed" if analysis.error else "ok"
    track.error = _clean(analysis.error)
    track.note = analysis.note
    track.deleted_at = None
    session.flush()
    track.duplicate_of_id = duplicate_of if duplicate_of != track.id else None
    clear_track_genres(session, track.id, source="tag")
    if features is not None:
        set_track_features(session, track.id, features)
    for genre in analysis.tags.genres:
        cleaned = _clean(genre)
        if cleaned and cleaned.strip():
            set_track_genre(session, track.id, cleaned, source="tag")
    return track


def _hashes(items: list[OnDisk], workers: int) -> list[str | None]:
    def safe(item: OnDisk) -> str | None:
        try:
            return content_hash(item.path)
        except OSError:
            return None

    with ThreadPoolExecutor(max_workers=max(1, workers)) as threads:
        return list(threads.map(safe, items))


class _Run:
    """The state of one ingestion run: its report, session, hash index and pending batch."""

    def __init__(self, session: Session, report: IngestReport, batch_size: int):
        self.session, self.report, self.batch_size = session, report, batch_size
        self.consumer: AnalysisConsumer | None = None  # set once there are files to analyse
        self.first_by_hash: dict[str, int] = {}
        self.uncommitted = 0

    def index_hashes(self, known: Iterable[Known], missing: dict[int, Known]) -> None:
        for track in sorted(known, key=lambda k: k.id):
            if track.content_hash and track.status != "deleted" and track.id not in missing:
                if track.duplicate_of_id is None:
                    self.first_by_hash.setdefault(track.content_hash, track.id)

    def changed(self) -> None:
        self.uncommitted += 1
        if self.uncommitted >= self.batch_size:
            self.commit()

    def commit(self) -> None:
        if self.consumer is not None:
            self.consumer.flush(self.session)
        run = self.session.get(IngestRun, self.report.run_id)
        if run is not None:
            self.report.write_to(run)
        self.session.commit()
        self.uncommitted = 0

    def revive(self, track: Track) -> None:
        if track.status == "deleted":
            track.status = "failed" if track.error else "ok"
            track.deleted_at = None
            self.report.revived += 1

    def keep(self, known: Known, item: OnDisk) -> None:
        """A file whose content the catalogue already holds: refresh its stat, revive it if deleted."""
        track = self.session.get(Track, known.id)
        if track is None:
            return
        self.revive(track)
        track.path, track.size, track.mtime = to_db_path(item.path), item.size, item.mtime
        self.changed()

    def store(self, analysis: FileAnalysis) -> None:
        existing = track_by_path(self.session, to_db_path(analysis.path))
        if existing is not None and existing.status == "deleted":
            self.report.revived += 1
        first = self.first_by_hash.get(analysis.content_hash) if analysis.content_hash else None
        track = store_analysis(self.session, analysis, existing, duplicate_of=first)
        if analysis.error:
            self.report.failed += 1
            stored = to_db_path(analysis.path)
            self.report.failures.append(
                {"path": readable_path(stored), "path_bytes": exact_path_b64(stored), "reason": analysis.error}
            )
        elif existing is None:
            self.report.added += 1
        else:
            self.report.updated += 1
        if analysis.content_hash and not analysis.error:
            if track.duplicate_of_id is not None:
                self.report.duplicates += 1
            else:
                self.first_by_hash.setdefault(analysis.content_hash, track.id)
        if self.consumer is not None and not analysis.error:
            self.consumer.consume(self.session, track.id, analysis)
        self.changed()


def _stat_all(paths: Iterable[Path]) -> list[OnDisk]:
    """Each scanned path once (overlapping roots name some twice) with its size and mtime."""
    disk: dict[Path, OnDisk] = {}
    for path in paths:
        if path in disk:
            continue
        try:
            stat = path.stat()
            disk[path] = OnDisk(path, stat.st_size, stat.st_mtime)
        except OSError:
            disk[path] = OnDisk(path, -1, -1.0)
    return list(disk.values())


def _known(session: Session) -> list[Known]:
    columns = (Track.id, Track.path, Track.size, Track.mtime, Track.content_hash, Track.status, Track.duplicate_of_id)
    return [Known(*row) for row in session.execute(select(*columns))]


def _resolve_hashed(run: _Run, plan: SyncPlan, workers: int, on_file: Callable[[FileAnalysis | None], None]) -> None:
    """Hash touched files and move candidates: equal content is kept or moved without decoding."""
    touched = [item for _k, item in plan.touched]
    for (track, item), digest in zip(plan.touched, _hashes(touched, workers), strict=True):
        if digest is not None and digest == track.content_hash:
            run.keep(track, item)
            run.report.skipped += 1
            on_file(None)
        else:
            plan.analyse.append(item)
    by_hash: dict[str, Known] = {}
    for track in sorted(plan.missing.values(), key=lambda k: k.id):
        if track.content_hash:
            by_hash.setdefault(track.content_hash, track)
    for item, digest in zip(plan.move_candidates, _hashes(plan.move_candidates, workers), strict=True):
        track = by_hash.pop(digest, None) if digest else None
        if track is not None and track.size == item.size:
            run.keep(track, item)
            del plan.missing[track.id]
            run.report.moved += 1
            on_file(None)
        else:
            plan.analyse.append(item)


def _mark_deleted(run: _Run, missing: Iterable[Known]) -> None:
    ids = [k.id for k in missing if k.status != "deleted"]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        run.session.execute(update(Track).where(Track.id.in_(chunk)).values(status="deleted", deleted_at=utcnow()))
    run.report.deleted = len(ids)


def mark_interrupted(session: Session) -> int:
    """Mark runs left ``running`` by a process that died as ``interrupted``; call it holding the lock."""
    result = session.execute(
        update(IngestRun).where(IngestRun.status == "running").values(status="interrupted", finished_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, kw_only=True)
class IngestOptions:
    """How an ingestion run analyses and stores files.

    ``device`` (from ``ingest.device.resolve_device``) is where a batched feature extractor runs. ``engine``
    analyses the files (default: a ``LocalEngine`` of ``workers`` processes, all cores when None);
    ``workers`` threads also hash touched files. A ``consumer`` gets each successful analysis, with what its
    ``front_end`` computed in the decoding workers (e.g. MusiCNN's log-mel patches), in the same
    transaction. ``wait`` is how long to wait for another run's lock (None: refuse at once).

    ``prepare``, when given, replaces ``device`` and ``consumer``: it resolves both (it loads torch and the
    network) and is called only once the run knows it has files to analyse, after the local workers have
    started, so they load the analysis code meanwhile and a run with nothing to analyse loads neither.
    """

    settings: Settings
    device: torch.device | None
    workers: int | None = None
    consumer: AnalysisConsumer | None = None
    wait: float | None = None
    engine: AnalysisEngine | None = None
    prepare: Callable[[], tuple[torch.device, AnalysisConsumer | None]] | None = None


def ingest(
    factory: sessionmaker[Session],
    roots: Iterable[Path],
    options: IngestOptions,
    *,
    on_total: Callable[[int], None] | None = None,
    on_file: Callable[[FileAnalysis | None], None] | None = None,
) -> IngestReport:
    """Ingest every audio file under ``roots`` incrementally, holding the database's ingestion lock.

    Unchanged files (same size and mtime, or same content hash) are skipped; a known file at a new path
    is a move (the track keeps its id, genres and history); a track whose file is gone is marked
    ``deleted`` and comes back when the file does; identical content under a second path is stored as a
    duplicate of the first. Each file's failure is recorded on its track row with the reason and the
    run goes on. A symlink that leads out of ``roots`` is skipped and reported (``not_followed``) unless
    ``settings.follow_symlinks``. ``on_total`` hears how many files were found, ``on_file`` each one done (None:
    skipped). Every session comes from ``factory`` through ``session_scope``.
    """
    started = time.perf_counter()
    roots = [absolute_path(r) for r in roots]
    absent = [str(r) for r in roots if not r.exists()]
    if absent:
        raise NotFoundError(f"no such file or folder: {', '.join(absent)}")
    if options.prepare is None and options.device is None:
        raise ConfigError("IngestOptions needs a device, or prepare to resolve one")
    workers = options.workers or os.cpu_count() or 1
    notify = on_file or (lambda _a: None)
    with ingest_lock(database_engine(factory), wait=options.wait):
        with session_scope(factory) as session:
            mark_interrupted(session)
            run_row = IngestRun(roots=os.pathsep.join(to_db_path(r) for r in roots))
            session.add(run_row)
            session.flush()
            report = IngestReport(run_id=run_row.id)
        unreadable: list[str] = []

        def skip_folder(folder: Path, exc: OSError) -> None:
            unreadable.append(to_db_path(folder))
            report.unreadable.append({"path": str(folder), "reason": exc.strerror or str(exc)})

        def skip_link(link: Path, target: Path) -> None:
            report.not_followed.append(
                {
                    "path": readable_path(to_db_path(link)),
                    "target": readable_path(to_db_path(target)),
                    "reason": OUTSIDE,
                }
            )

        disk = _stat_all(
            scan(roots, on_error=skip_folder, follow_symlinks=options.settings.follow_symlinks, on_outside=skip_link)
        )
        if on_total:
            on_total(len(disk))
        order = {item.path: n for n, item in enumerate(disk)}
        try:
            with session_scope(factory) as session:
                run = _Run(session, report, options.settings.ingest_batch_size)
                known = _known(session)
                plan = plan_sync(known, disk, roots=[to_db_path(r) for r in roots], keep=unreadable)
                run.index_hashes(known, plan.missing)
                for track, item in plan.unchanged:
                    if track.status == "deleted":
                        run.keep(track, item)
                    report.skipped += 1
                    notify(None)
                _resolve_hashed(run, plan, workers, notify)
                plan.analyse.sort(key=lambda item: order[item.path])
                if plan.analyse:
                    _analyse(run, [item.path for item in plan.analyse], options, workers, notify)
                _mark_deleted(run, plan.missing.values())
                report.seconds = time.perf_counter() - started
                run.commit()
                finished = session.get(IngestRun, report.run_id)
                if finished is not None:
                    finished.finished_at, finished.status = utcnow(), "finished"
        except BaseException:
            _close_run(factory, report, "interrupted")
            raise
    return report


def _analyse(
    run: _Run, paths: list[Path], options: IngestOptions, workers: int, notify: Callable[[FileAnalysis], None]
) -> None:
    """Analyse and store ``paths``: start the local workers, then prepare the device and consumer while they warm."""
    with nullcontext(options.engine) if options.engine else local_engine(workers, options.settings) as engine:
        device, consumer = options.prepare() if options.prepare else (options.device, options.consumer)
        assert device is not None  # checked when the run began
        run.consumer = consumer
        analyses = engine.analyses(
            paths,
            settings=options.settings,
            device=device,
            front_end=None if consumer is None else consumer.front_end,
            make_encoder=None if consumer is None else consumer.make_encoder,
        )
        for analysis in analyses:
            run.store(analysis)
            notify(analysis)


def _close_run(factory: sessionmaker[Session], report: IngestReport, status: str) -> None:
    """Record a run that stopped early, if the database still answers."""
    try:
        with session_scope(factory) as session:
            row = session.get(IngestRun, report.run_id)
            if row is not None:
                row.status, row.finished_at = status, utcnow()
    except Exception:  # noqa: BLE001 - the original error matters more than this bookkeeping
        return
