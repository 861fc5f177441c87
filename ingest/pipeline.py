"""Ingestion runs: scan, analyse in worker processes, store per batch, record the run."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from soundalike.ingest.analysis import FileAnalysis, analyse_file
from soundalike.ingest.db.models import IngestRun, Track, utcnow
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.features import MFCC_STATS_NAME, MFCC_STATS_VERSION
from soundalike.ingest.repository import clear_track_genres, set_feature, set_track_genre, track_by_path
from soundalike.ingest.scan import scan
from soundalike.ingest.settings import Settings

BATCH_SIZE = 16


@dataclass
class IngestReport:
    """Counts and failures of one ingestion run."""

    run_id: int
    added: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form, as printed by ``soundalike ingest --json``."""
        return {
            "run_id": self.run_id,
            "added": self.added,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "failures": self.failures,
        }


def _unchanged(known: dict[str, tuple[int, float]], path: Path) -> bool:
    try:
        stat = path.stat()
    except OSError:
        return False
    return known.get(str(path)) == (stat.st_size, stat.st_mtime)


def _analyse_all(paths: list[Path], settings: Settings, workers: int) -> Iterator[FileAnalysis]:
    analyse = partial(analyse_file, sr=settings.sample_rate, max_bytes=settings.max_file_bytes)
    if workers <= 1 or len(paths) <= 1:
        yield from map(analyse, paths)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(analyse, paths, chunksize=2)


def store_analysis(session: Session, analysis: FileAnalysis, track: Track | None) -> Track:
    """Insert or update the track row, its features and its tag genres from one analysis."""
    if track is None:
        track = Track(path=str(analysis.path), size=analysis.size, mtime=analysis.mtime)
        session.add(track)
    track.size, track.mtime = analysis.size, analysis.mtime
    track.content_hash = analysis.content_hash
    track.duration, track.sample_rate, track.channels = (analysis.duration, analysis.sample_rate, analysis.channels)
    track.title, track.artist = analysis.tags.title, analysis.tags.artist
    track.album, track.year = analysis.tags.album, analysis.tags.year
    track.status = "failed" if analysis.error else "ok"
    track.error = analysis.error
    session.flush()
    clear_track_genres(session, track.id, source="tag")
    if analysis.mfcc_stats is not None:
        set_feature(session, track.id, MFCC_STATS_NAME, MFCC_STATS_VERSION, analysis.mfcc_stats)
    for genre in analysis.tags.genres:
        set_track_genre(session, track.id, genre, source="tag")
    return track


def ingest(
    factory: sessionmaker[Session],
    roots: Iterable[Path],
    *,
    settings: Settings,
    workers: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_file: Callable[[FileAnalysis | None], None] | None = None,
) -> IngestReport:
    """Ingest every audio file under ``roots``; unchanged files (same size and mtime) are skipped.

    Each file's failure is recorded on its track row with the reason; the run goes on. Rows are
    committed every ``BATCH_SIZE`` files, so an interrupted run keeps what it stored.
    """
    started = time.perf_counter()
    roots = list(roots)
    with session_scope(factory) as session:
        run = IngestRun(roots=os.pathsep.join(str(r) for r in roots))
        session.add(run)
        session.flush()
        report = IngestReport(run_id=run.id)
        known = {p: (s, m) for p, s, m in session.execute(select(Track.path, Track.size, Track.mtime))}
    files = list(scan(roots))
    if on_total:
        on_total(len(files))
    todo = []
    for path in files:
        if _unchanged(known, path):
            report.skipped += 1
            if on_file:
                on_file(None)
        else:
            todo.append(path)
    session = factory()
    try:
        for n, analysis in enumerate(_analyse_all(todo, settings, workers or os.cpu_count() or 1), 1):
            existing = track_by_path(session, str(analysis.path))
            store_analysis(session, analysis, existing)
            if analysis.error:
                report.failed += 1
                report.failures.append({"path": str(analysis.path), "reason": analysis.error})
            elif existing is None:
                report.added += 1
            else:
                report.updated += 1
            if n % BATCH_SIZE == 0:
                session.commit()
            if on_file:
                on_file(analysis)
        report.seconds = time.perf_counter() - started
        run_row = session.get(IngestRun, report.run_id)
        if run_row is not None:
            run_row.added, run_row.updated = report.added, report.updated
            run_row.skipped, run_row.failed = report.skipped, report.failed
            run_row.seconds, run_row.finished_at, run_row.status = report.seconds, utcnow(), "finished"
        session.commit()
    finally:
        session.close()
    return report
