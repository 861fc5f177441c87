"""The recommendation service: database and index opened once, shared by CLI and HTTP API."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from soundalike.embed.models import EmbeddingModel, embedding_model
from soundalike.embed.store import embedding_version
from soundalike.index.track_index import TrackIndex, load_index
from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.settings import Settings


@dataclass
class Service:
    """Everything a query needs: settings, a session factory and the loaded index."""

    settings: Settings
    factory: sessionmaker[Session]
    index: TrackIndex
    model: EmbeddingModel

    @classmethod
    def open(cls, settings: Settings, factory: sessionmaker[Session] | None = None) -> Service:
        """Open the database and load the index that matches its embeddings."""
        factory = factory or open_database(settings.db_url)
        model = embedding_model(settings)
        with session_scope(factory) as session:
            version = embedding_version(session, model.name)
        index = load_index(settings.index_dir, model.name, model_version=version)
        return cls(settings, factory, index, model)
