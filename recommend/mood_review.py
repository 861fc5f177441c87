"""Moods in the database: the tag probabilities ingest stored, and curator verdicts that override the facets."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.embed.musicnn_encoder import TAGS_FEATURE
from soundalike.index.sorted_ids import ABSENT, positions
from soundalike.ingest.db.models import TrackMood
from soundalike.ingest.repository import feature_matrix, get_track
from soundalike.recommend.moods import MOODS, MoodTable, mood_name


def mood_probabilities(session: Session, ids: np.ndarray) -> np.ndarray:
    """(len(ids), len(MOODS)) stored tag probabilities of the tracks ``ids`` (sorted); NaN rows for tracks
    without them."""
    out = np.full((len(ids), len(MOODS)), np.nan, dtype=np.float32)
    tagged, vectors = feature_matrix(session, TAGS_FEATURE)
    if len(tagged) == 0 or vectors.shape[1] != len(MOODS):
        return out
    rows = positions(ids, tagged)
    found = rows != ABSENT
    out[rows[found]] = vectors[found]
    return out


def mood_verdicts(session: Session) -> dict[tuple[int, str], bool]:
    """(track id, mood) -> accepted, for every curator verdict."""
    rows = session.execute(select(TrackMood.track_id, TrackMood.mood, TrackMood.accepted))
    return {(int(t), str(m)): bool(a) for t, m, a in rows}


def load_moods(session: Session, ids: np.ndarray) -> MoodTable:
    """The calibrated moods of the tracks ``ids`` (sorted), curator verdicts applied."""
    verdicts = mood_verdicts(session)
    rows = positions(ids, np.array([t for t, _ in verdicts], dtype=np.int64))
    by_row = {(int(r), m): a for ((_, m), a), r in zip(verdicts.items(), rows, strict=True) if r != ABSENT}
    return MoodTable.build(mood_probabilities(session, ids), by_row)


def review_mood(session: Session, track_id: int, mood: str, *, accept: bool) -> str:
    """Record a curator's accept or reject of a mood for a track (replacing an earlier verdict); returns the
    vocabulary's name of the mood. An unknown track is a NotFoundError, an unknown mood an InputError."""
    get_track(session, track_id)
    name = mood_name(mood)
    row = session.scalars(select(TrackMood).where(TrackMood.track_id == track_id, TrackMood.mood == name)).one_or_none()
    if row is None:
        row = TrackMood(track_id=track_id, mood=name, accepted=accept)
        session.add(row)
    row.accepted = accept
    session.flush()
    return name
