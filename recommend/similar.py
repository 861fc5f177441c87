"""Similar-track lookup by track id or by an audio file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.mfcc_embedding import MODEL_NAME, embed_features, load_standardiser
from soundalike.embed.store import track_embedding
from soundalike.index.track_index import TrackIndex
from soundalike.ingest.audio import load
from soundalike.ingest.features import mfcc_stats_vector
from soundalike.ingest.repository import get_track
from soundalike.ingest.settings import Settings
from soundalike.recommend.ranking import top_k
from soundalike.recommend.results import Result, describe


def similar_to_track(session: Session, index: TrackIndex, track_id: int, k: int) -> list[Result]:
    """The ``k`` tracks most similar to a catalogue track, itself excluded."""
    get_track(session, track_id)
    query = track_embedding(session, MODEL_NAME, track_id)
    return describe(session, top_k(index, query, k, exclude={track_id}))


def embed_file(path: Path, settings: Settings) -> np.ndarray:
    """Embedding of an audio file outside the catalogue, with the catalogue's fitted model."""
    audio = load(path, sr=settings.sample_rate, max_bytes=settings.max_file_bytes)
    features = mfcc_stats_vector(y=audio.samples, sr=audio.sample_rate)
    return embed_features(features, load_standardiser(settings.models_dir))[0]


def similar_to_file(session: Session, index: TrackIndex, path: Path, settings: Settings, k: int) -> list[Result]:
    """The ``k`` catalogue tracks most similar to an audio file."""
    return describe(session, top_k(index, embed_file(path, settings), k))
