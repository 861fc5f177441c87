"""Following the index another process publishes: each server process swaps to a new generation by itself.

Several API workers (``soundalike serve --workers N``) read one index folder. When ``index build`` (or one
worker's ``/index/reload``) saves a new generation, the sidecar names it; every worker checks the sidecar
on a timer and, when it names another generation than the one served, loads it in the background and
swaps (``ServedIndex.reload``), so no request waits or fails. A generation that cannot be loaded (removed by
a newer save meanwhile, or corrupt) leaves the old one serving and is tried again at the next check.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from soundalike.index.track_index import read_meta
from soundalike.ingest.errors import SoundalikeError
from soundalike.recommend.served_index import ServedIndex, ServedParts

log = logging.getLogger(__name__)


class IndexWatch:
    """A daemon thread that swaps ``served`` to each newly published generation of ``model_name``'s index."""

    def __init__(
        self,
        served: ServedIndex,
        directory: Path,
        model_name: str,
        load: Callable[[], ServedParts],
        *,
        every: float,
    ) -> None:
        """Check ``directory`` every ``every`` seconds; ``load`` reads the published index and the track facts."""
        self.served, self.directory, self.model_name, self.load = served, directory, model_name, load
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-watch", daemon=True)

    def start(self) -> IndexWatch:
        """Start checking; returns itself."""
        self._thread.start()
        return self

    def published(self) -> str | None:
        """The generation the sidecar names now, or None when it cannot be read."""
        try:
            return read_meta(self.directory, self.model_name).version
        except SoundalikeError:
            return None

    def check(self) -> bool:
        """Start a swap if another generation is published than the one served; returns whether one started."""
        published = self.published()
        if published is None or published == self.served.meta.version or self.served.reloading:
            return False
        log.info("index %s published; swapping from %s", published, self.served.meta.version)
        self.served.reload(self.load)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - a failed check must not end the watch; the next one retries
                log.exception("checking for a new index failed")

    def stop(self) -> None:
        """Stop checking and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
