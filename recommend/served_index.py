"""The index, track table and segment scoring that answer queries, replaced together while requests keep being
served."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from soundalike.embed.segments import SegmentScoring
from soundalike.index.track_index import IndexMeta, TrackIndex
from soundalike.ingest.errors import IndexMismatchError
from soundalike.recommend.track_table import TrackTable


class ServedParts(NamedTuple):
    """What a load or reload gives: the index, its tracks' facts, and the segment re-ranking fitted with it
    (``SOUNDALIKE_SEGMENT_WEIGHT``; None: track scores alone)."""

    index: TrackIndex
    table: TrackTable
    segments: SegmentScoring | None = None


class ServedIndex:
    """The current ``TrackIndex``, the ``TrackTable`` of its tracks and their ``SegmentScoring``; a reload builds
    them in the background, then swaps them under one lock.

    Each search reads the current index once and runs on it to the end, so a swap never fails or mixes a
    query; the old index is freed when its last running query returns. The table is replaced just before
    the index, so for a moment a query may see new facts with the old index: candidates unknown to the table
    are skipped, never an error.
    """

    def __init__(self, index: TrackIndex, table: TrackTable, segments: SegmentScoring | None = None) -> None:
        """Serve ``index`` with the facts in ``table``, re-ranked by ``segments`` when given."""
        self._index = index
        self._table = table
        self._segments = segments
        self._lock = threading.Lock()
        self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-rebuild")
        self._pending: Future[TrackIndex] | None = None
        self.generation = 0
        self.last_error: str | None = None

    @property
    def current(self) -> TrackIndex:
        """The index answering queries now."""
        return self._index

    @property
    def meta(self) -> IndexMeta:
        """The sidecar of the index answering queries now."""
        return self._index.meta

    @property
    def table(self) -> TrackTable:
        """The track facts answering queries now."""
        return self._table

    @property
    def segments(self) -> SegmentScoring | None:
        """The segment re-ranking fitted with the index answering queries now (None: off)."""
        return self._segments

    @property
    def reloading(self) -> bool:
        """Whether a reload is running."""
        return self._pending is not None and not self._pending.done()

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``TrackIndex.search`` on the current index."""
        return self._index.search(queries, k)

    def vectors(self, track_ids: Iterable[int]) -> dict[int, np.ndarray]:
        """``TrackIndex.vectors`` of the current index."""
        return self._index.vectors(track_ids)

    def reload(self, build: Callable[[], ServedParts]) -> Future[TrackIndex]:
        """Run ``build`` in the background and swap its parts in; a reload already running is returned instead
        of starting another. On error the old parts keep serving and ``last_error`` says why."""
        with self._lock:
            if self._pending is not None and not self._pending.done():
                return self._pending
            future = self._builder.submit(lambda: self._swap(build()))
            future.add_done_callback(self._finished)
            self._pending = future
            return future

    def _swap(self, parts: ServedParts) -> TrackIndex:
        index = parts.index
        old = self._index.meta
        if index.meta.dim != old.dim or index.meta.metric != old.metric:
            raise IndexMismatchError(
                f"cannot swap a {index.meta.dim}d {index.meta.metric} index for a {old.dim}d {old.metric} one"
            )
        with self._lock:
            self._table = parts.table
            self._segments = parts.segments
            self._index = index
            self.generation += 1
        return index

    def _finished(self, future: Future[TrackIndex]) -> None:
        error = future.exception()
        self.last_error = None if error is None else f"{type(error).__name__}: {error}"

    def close(self) -> None:
        """Wait for a running reload and stop its thread."""
        self._builder.shutdown(wait=True)
