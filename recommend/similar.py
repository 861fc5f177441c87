"""Similar-track lookup by track id or by a query vector."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.store import track_embedding
from soundalike.index.track_index import TrackIndex
from soundalike.ingest.repository import get_track
from soundalike.recommend.ranking import top_k
from soundalike.recommend.results import Result, describe


def similar_to_track(session: Session, index: TrackIndex, track_id: int, k: int) -> list[Result]:
    """The ``k`` tracks most similar to a catalogue track, itself excluded."""
    get_track(session, track_id)
    query = track_embedding(session, index.meta.model_name, track_id)
    return describe(session, top_k(index, query, k, exclude={track_id}))


def similar_to_vector(session: Session, index: TrackIndex, vector: np.ndarray, k: int) -> list[Result]:
    """The ``k`` catalogue tracks most similar to an embedding (e.g. of an outside audio file)."""
    return describe(session, top_k(index, vector, k))
