"""The index and track table that answer queries, replaced together while requests keep being served."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future

import numpy as np

from soundalike.index.live import LiveIndex
from soundalike.index.track_index import IndexMeta, TrackIndex
from soundalike.recommend.track_table import TrackTable


class ServedIndex:
    """A ``LiveIndex`` and the ``TrackTable`` of its tracks; a reload builds both in the background, then swaps.

    The table is replaced just before the index, so for a moment a query may see new facts with the old
    index: candidates unknown to the table are skipped, never an error.
    """

    def __init__(self, index: TrackIndex, table: TrackTable) -> None:
        """Serve ``index`` with the facts in ``table``."""
        self.live = LiveIndex(index)
        self._table = table
        self._lock = threading.Lock()
        self._pending: Future[TrackIndex] | None = None
        self.last_error: str | None = None

    @property
    def meta(self) -> IndexMeta:
        """The sidecar of the index answering queries now."""
        return self.live.meta

    @property
    def table(self) -> TrackTable:
        """The track facts answering queries now."""
        return self._table

    @property
    def generation(self) -> int:
        """How many swaps happened since start-up."""
        return self.live.generation

    @property
    def reloading(self) -> bool:
        """Whether a reload is running."""
        return self._pending is not None and not self._pending.done()

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``TrackIndex.search`` on the current index."""
        return self.live.search(queries, k)

    def vectors(self, track_ids: Iterable[int]) -> dict[int, np.ndarray]:
        """``TrackIndex.vectors`` of the current index."""
        return self.live.current.vectors(track_ids)

    def reload(self, build: Callable[[], tuple[TrackIndex, TrackTable]]) -> Future[TrackIndex]:
        """Run ``build`` in the background and swap its index and table in; a reload already running is
        returned instead of starting another. On error the old pair keeps serving and ``last_error`` says why."""
        with self._lock:
            if self._pending is not None and not self._pending.done():
                return self._pending

            def build_index() -> TrackIndex:
                index, table = build()
                self._table = table
                return index

            future = self.live.rebuild(build_index)
            future.add_done_callback(self._finished)
            self._pending = future
            return future

    def _finished(self, future: Future[TrackIndex]) -> None:
        error = future.exception()
        self.last_error = None if error is None else f"{type(error).__name__}: {error}"

    def close(self) -> None:
        """Wait for a running reload and stop its thread."""
        self.live.close()
