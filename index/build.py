"""Building the index from what the database holds."""

from __future__ import annotations

from sqlalchemy.orm import Session

from soundalike.embed.mfcc_embedding import MODEL_NAME, refresh_embeddings
from soundalike.embed.store import load_embeddings
from soundalike.index.track_index import IndexMeta, build_index, save_index
from soundalike.ingest.errors import NotFoundError
from soundalike.ingest.settings import Settings


def build_from_database(session: Session, settings: Settings) -> IndexMeta:
    """Refresh the embeddings from stored features, index them and save the index atomically."""
    refresh_embeddings(session, settings.models_dir)
    session.flush()
    ids, vectors, version = load_embeddings(session, MODEL_NAME)
    if version is None:
        raise NotFoundError("no embeddings to index")
    track_index = build_index(ids, vectors, model_name=MODEL_NAME, model_version=version)
    save_index(track_index, settings.index_dir)
    return track_index.meta
