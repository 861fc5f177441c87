"""An index that keeps answering while its replacement is built, then swaps atomically."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from soundalike.index.track_index import IndexMeta, TrackIndex


class LiveIndex:
    """A thread-safe holder of the current ``TrackIndex``, searchable like one.

    Each search reads the current reference once and runs on that index to the end, so a swap
    never fails or mixes a query; the old index is freed when its last running query returns.
    """

    def __init__(self, initial: TrackIndex) -> None:
        """Start serving ``initial``."""
        self._current = initial
        self._lock = threading.Lock()
        self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-rebuild")
        self.generation = 0

    @property
    def current(self) -> TrackIndex:
        """The index answering queries now."""
        return self._current

    @property
    def meta(self) -> IndexMeta:
        """The sidecar of the index answering queries now."""
        return self._current.meta

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``TrackIndex.search`` on the current index."""
        return self._current.search(queries, k)

    def swap(self, new: TrackIndex) -> TrackIndex:
        """Serve ``new`` from now on; returns the index it replaced."""
        if new.meta.dim != self._current.meta.dim or new.meta.metric != self._current.meta.metric:
            raise ValueError(
                f"cannot swap a {new.meta.dim}d {new.meta.metric} index for a "
                f"{self._current.meta.dim}d {self._current.meta.metric} one"
            )
        with self._lock:
            old, self._current = self._current, new
            self.generation += 1
        return old

    def rebuild(self, build: Callable[[], TrackIndex]) -> Future[TrackIndex]:
        """Run ``build`` in a background thread and swap its result in; the old index serves meanwhile.

        Rebuilds run one at a time. If ``build`` raises, the future holds the error and nothing is swapped.
        """

        def build_and_swap() -> TrackIndex:
            new = build()
            self.swap(new)
            return new

        return self._builder.submit(build_and_swap)

    def close(self) -> None:
        """Wait for a running rebuild and stop the builder thread."""
        self._builder.shutdown(wait=True)
