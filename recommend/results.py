"""Turning ranked track ids into result rows with catalogue details."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import Track


@dataclass(frozen=True)
class Result:
    """One ranked track, as printed by ``similar`` and ``recommend``."""

    track_id: int
    path: str
    score: float
    title: str | None
    artist: str | None
    album: str | None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return asdict(self)


def describe(session: Session, ranked: list[tuple[int, float]]) -> list[Result]:
    """Attach path, title, artist and album to (track_id, score) pairs, keeping their order."""
    ids = [tid for tid, _ in ranked]
    tracks = {t.id: t for t in session.scalars(select(Track).where(Track.id.in_(ids)))}
    return [
        Result(tid, tracks[tid].path, round(float(score), 6), tracks[tid].title, tracks[tid].artist, tracks[tid].album)
        for tid, score in ranked
        if tid in tracks
    ]
