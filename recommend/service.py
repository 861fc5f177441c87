"""The recommendation service: database, index and track table opened once, shared by CLI and HTTP API."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field

import torch
from sqlalchemy.orm import Session, sessionmaker

from soundalike.embed.models import EmbeddingModel, check_cnn_runtime, embedding_model
from soundalike.embed.segments import segment_scoring
from soundalike.embed.store import embedding_version
from soundalike.index.backends import IndexBackend, resolve_index_backend
from soundalike.index.sync import sync_index
from soundalike.index.track_index import TrackIndex, load_index
from soundalike.ingest.db.session import PoolLimits, open_database, session_scope
from soundalike.ingest.errors import NotFoundError
from soundalike.ingest.settings import Settings
from soundalike.recommend.index_watch import IndexWatch
from soundalike.recommend.served_index import ServedIndex, ServedParts
from soundalike.recommend.track_table import TrackTable


@dataclass
class Service:
    """Everything a query needs: settings, a session factory, the served index with its facts, the model."""

    settings: Settings
    factory: sessionmaker[Session]
    index: ServedIndex
    model: EmbeddingModel
    backend: IndexBackend
    watch: IndexWatch | None = field(default=None, init=False)

    @classmethod
    def open(cls, settings: Settings, factory: sessionmaker[Session] | None = None, *, device: torch.device) -> Service:
        """Open the database, load the index that matches its embeddings and every track's facts.

        A replica that finds no index in its index folder builds one from the database's embeddings first.
        The model and the index run on ``device``, resolved once by the caller (CLI or app factory). A catalogue whose
        MusiCNN vectors another CNN runtime made is refused (``check_cnn_runtime``): outside audio would differ.
        """
        factory = factory or open_database(settings.db_url, server_pool(settings))
        model = embedding_model(settings, device)
        with session_scope(factory) as session:
            check_cnn_runtime(session, settings, device)
        backend = resolve_index_backend(device)
        try:
            parts = _load(settings, factory, model, backend)
        except NotFoundError:
            with session_scope(factory) as session:
                sync_index(session, settings, model.name, backend=backend)
            parts = _load(settings, factory, model, backend)
        return cls(settings, factory, ServedIndex(*parts), model, backend)

    def follow_published(self, every: float) -> IndexWatch:
        """Check the index folder every ``every`` seconds and swap to each index another process publishes."""
        if self.watch is None:
            self.watch = IndexWatch(
                self.index,
                self.settings.index_dir,
                self.model.name,
                lambda: _load(self.settings, self.factory, self.model, self.backend),
                every=every,
            ).start()
        return self.watch

    def reload(self) -> Future[TrackIndex]:
        """In the background: bring the saved index up to date with the database (new tracks added, deleted
        ones hidden), reload it and the track facts, then swap them in; requests are served throughout."""

        def build() -> ServedParts:
            with session_scope(self.factory) as session:
                sync_index(session, self.settings, self.model.name, backend=self.backend)
            return _load(self.settings, self.factory, self.model, self.backend)

        return self.index.reload(build)

    def close(self) -> None:
        """Stop following published indexes and wait for a running reload to finish."""
        if self.watch is not None:
            self.watch.stop()
        self.index.close()


def server_pool(settings: Settings) -> PoolLimits:
    """This process's share of ``db_connections`` (``workers`` processes share them), none beyond it, and a
    bounded wait for one."""
    return PoolLimits(size=max(1, settings.db_connections // settings.workers), overflow=0, wait_s=settings.db_wait_s)


def _load(
    settings: Settings, factory: sessionmaker[Session], model: EmbeddingModel, backend: IndexBackend
) -> ServedParts:
    """The saved index of the database's embedding version, the track facts, and the segment scoring fitted with
    the index (read again at each reload, so a rebuilt fusion's normaliser is the one served)."""
    with session_scope(factory) as session:
        version = embedding_version(session, model.name)
        table = TrackTable.load(session)
    index = load_index(settings.index_dir, model.name, model_version=version, backend=backend)
    return ServedParts(index, table, segment_scoring(settings))
