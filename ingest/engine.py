"""Where files are analysed during an ingest: the interface every engine offers, and the local engine.

An engine turns the files a run must analyse into ``FileAnalysis`` values, in the order given; the run
(``ingest.pipeline``) stores them, so every engine shares one writer, one lock and one run record. The local
engine decodes in this machine's worker processes (``process_pool``); ``ray_engine`` runs the same steps
as Ray Data stages on a cluster.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from soundalike.ingest.analysis import AudioFrontEnd, FileAnalysis, analyse_file, warm_up
from soundalike.ingest.batched_analyses import with_batched_features
from soundalike.ingest.process_pool import started_pool, stop_pool, worker_pool
from soundalike.ingest.settings import Settings

if TYPE_CHECKING:
    import torch

FILES_IN_FLIGHT_PER_WORKER = 4


class PatchEncoder(Protocol):
    """A consumer's network, loaded on one device: what it makes of each track's front-end output."""

    def encode_patches(self, per_track: list[np.ndarray]) -> Sequence[object]:
        """One result per track, for each track's ``FileAnalysis.patches``."""
        ...


EncoderFactory = Callable[["torch.device"], PatchEncoder]


class AnalysisEngine(Protocol):
    """Runs the analysis of many files somewhere (this machine, a cluster) and hands back the results."""

    def analyses(
        self,
        paths: list[Path],
        *,
        settings: Settings,
        device: torch.device,
        front_end: AudioFrontEnd | None,
        make_encoder: EncoderFactory | None,
    ) -> Iterator[FileAnalysis]:
        """The analysis of each of ``paths``, in that order.

        ``front_end`` runs on each decode (its result is ``patches``); an engine with workers of its own
        for the network may build one encoder per worker with ``make_encoder`` and return ``encoded``
        in place of ``patches``; an engine that does not leaves the patches to the consumer.
        """
        ...


@dataclass(frozen=True)
class AnalysisSteps:
    """The per-file step (decode, tags, features in the worker) and the batched step after it."""

    analyse: Callable[[Path], FileAnalysis]
    complete: Callable[[Iterable[FileAnalysis]], Iterator[FileAnalysis]]


def analysis_steps(settings: Settings, device: torch.device, front_end: AudioFrontEnd | None) -> AnalysisSteps:
    """The steps every engine runs: features in the worker, or batched on ``device`` when that extractor is chosen."""
    from soundalike.ingest.torch_features import track_feature_batcher  # torch: never imported by the workers

    batcher = track_feature_batcher(settings.feature_extractor, device)
    analyse = partial(
        analyse_file,
        sr=settings.sample_rate,
        max_bytes=settings.max_file_bytes,
        front_end=front_end,
        with_features=batcher is None,
    )
    if batcher is None:
        return AnalysisSteps(analyse, iter)
    return AnalysisSteps(analyse, partial(with_batched_features, batcher=batcher, sr=settings.sample_rate))


def failed_analysis(path: Path, reason: str) -> FileAnalysis:
    """The analysis of a file that could not be analysed at all, with its stat facts where they can be read."""
    try:
        stat = path.stat()
        return FileAnalysis(path, stat.st_size, stat.st_mtime, error=reason)
    except OSError:
        return FileAnalysis(path, 0, 0.0, error=reason)


def analyse_bounded(
    paths: Iterable[Path],
    analyse: Callable[[Path], FileAnalysis],
    *,
    workers: int,
    in_flight: int,
    pool: ProcessPoolExecutor | None = None,
) -> Iterator[FileAnalysis]:
    """Analyses of ``paths`` in order, at most ``in_flight`` submitted at once, so memory stays flat.

    ``pool`` is a pool of ``workers`` processes started ahead (``started_pool``), else one starts here; it is
    shut down at the end. A worker process that dies (a decoder crash) breaks the pool: a fresh pool retries the
    files that were in flight one at a time, and the file that breaks it again is reported as failed.
    """
    if workers <= 1:
        yield from map(analyse, paths)
        return
    source = iter(paths)
    retry: deque[Path] = deque()
    pending: deque[tuple[Path, Future[FileAnalysis]]] = deque()
    pool = pool or worker_pool(workers)
    try:
        while True:
            limit = 1 if retry else in_flight
            while len(pending) < limit:
                path = retry.popleft() if retry else next(source, None)
                if path is None:
                    break
                pending.append((path, pool.submit(analyse, path)))
            if not pending:
                return
            path, future = pending.popleft()
            try:
                result = future.result()
            except BrokenProcessPool:
                pool.shutdown(wait=True, cancel_futures=True)
                pool = worker_pool(workers)
                if limit == 1:
                    yield failed_analysis(path, "the decoding process crashed on this file")
                else:
                    retry.extend([path, *(p for p, _f in pending)])
                pending.clear()
                continue
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class LocalEngine:
    """Decoding in ``workers`` processes of this machine; the consumer encodes in the ingesting process.

    ``pool`` holds workers started ahead (``local_engine``) for the first ``analyses`` call."""

    workers: int
    pool: ProcessPoolExecutor | None = None

    def analyses(
        self,
        paths: list[Path],
        *,
        settings: Settings,
        device: torch.device,
        front_end: AudioFrontEnd | None,
        make_encoder: EncoderFactory | None,
    ) -> Iterator[FileAnalysis]:
        """``AnalysisEngine.analyses`` in a bounded process pool; ``make_encoder`` is not used here."""
        steps = analysis_steps(settings, device, front_end)
        in_flight = self.workers * FILES_IN_FLIGHT_PER_WORKER
        bounded = analyse_bounded(paths, steps.analyse, workers=self.workers, in_flight=in_flight, pool=self.pool)
        return steps.complete(bounded)


@contextmanager
def local_engine(workers: int, settings: Settings) -> Iterator[LocalEngine]:
    """A ``LocalEngine`` for one run whose workers start now and load the analysis code (``analysis.warm_up``)
    while the caller loads its network, so the first files cost what the others do. On exit workers that got no
    work (the caller failed before analysing, e.g. loading the network) are stopped without waiting for their
    warm-up."""
    if workers <= 1:
        yield LocalEngine(workers)
        return
    pool = started_pool(workers, partial(warm_up, settings.sample_rate))
    try:
        yield LocalEngine(workers, pool)
    finally:
        stop_pool(pool)
