"""Building the index from what the database holds."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from soundalike.embed.models import EmbeddingModel
from soundalike.embed.store import load_embeddings
from soundalike.index.track_index import IndexMeta, build_index, save_index
from soundalike.ingest.errors import NotFoundError
from soundalike.ingest.settings import Settings


def build_from_database(
    session: Session, settings: Settings, model: EmbeddingModel, *, on_track: Callable[[], None] | None = None
) -> IndexMeta:
    """Bring the model's embeddings up to date, index them and save the index atomically."""
    model.refresh(session, on_track=on_track)
    session.flush()
    ids, vectors, version = load_embeddings(session, model.name)
    if version is None:
        raise NotFoundError("no embeddings to index (run `soundalike ingest PATH` first)")
    track_index = build_index(ids, vectors, model_name=model.name, model_version=version)
    save_index(track_index, settings.index_dir)
    return track_index.meta
