"""Personalised playlists from listening history."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.embed.store import track_embeddings
from soundalike.index.track_index import TrackIndex
from soundalike.ingest.db.models import ListeningEvent
from soundalike.ingest.errors import NotFoundError
from soundalike.ingest.repository import get_user
from soundalike.recommend.ranking import top_k, unit
from soundalike.recommend.results import Result, describe


def history_profile(played: dict[int, np.ndarray], plays: dict[int, int]) -> np.ndarray:
    """Unit-norm mean of played tracks' embeddings, weighted by play count."""
    if not played:
        raise ValueError("no played tracks with embeddings")
    weights = np.array([plays[tid] for tid in played], dtype=np.float32)
    matrix = np.stack(list(played.values()))
    return unit((weights[:, None] * matrix).sum(axis=0) / weights.sum())


def recommend_for_user(session: Session, index: TrackIndex, user_name: str, n: int) -> list[Result]:
    """``n`` unheard tracks closest to the user's listening profile (skipped plays not counted)."""
    user = get_user(session, user_name)
    events = session.execute(
        select(ListeningEvent.track_id, ListeningEvent.skipped).where(ListeningEvent.user_id == user.id)
    ).all()
    heard = {e.track_id for e in events}
    plays: dict[int, int] = {}
    for event in events:
        if not event.skipped:
            plays[event.track_id] = plays.get(event.track_id, 0) + 1
    played = track_embeddings(session, index.meta.model_name, list(plays))
    if not played:
        raise NotFoundError(f"user {user_name!r} has no completed plays of indexed tracks")
    profile = history_profile(played, plays)
    return describe(session, top_k(index, profile, n, exclude=heard))
