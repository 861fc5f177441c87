"""Service functions behind catalogue browsing and listening events."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy.orm import Session

from soundalike.ingest.errors import InputError
from soundalike.ingest.history import record_play
from soundalike.ingest.paths import exact_path_b64, readable_path
from soundalike.ingest.repository import get_or_create_user, get_track
from soundalike.recommend.facts import TrackFacts, genre_rows, page_tracks, track_facts

MAX_PAGE = 500


def track_dict(facts: TrackFacts) -> dict[str, object]:
    """JSON-ready catalogue facts of a track (genres sorted; path readable, exact bytes apart as in results)."""
    data = asdict(facts)
    data["path"], data["path_bytes"] = readable_path(facts.path), exact_path_b64(facts.path)
    data["genres"] = sorted(facts.genres)
    return data


def list_tracks(session: Session, *, offset: int, limit: int) -> dict[str, object]:
    """One page of playable tracks with the total count."""
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise InputError(f"need offset >= 0 and 1 <= limit <= {MAX_PAGE}, got offset={offset} limit={limit}")
    total, rows = page_tracks(session, offset=offset, limit=limit)
    return {"total": total, "offset": offset, "limit": limit, "tracks": [track_dict(r) for r in rows]}


def track_detail(session: Session, track_id: int) -> dict[str, object]:
    """A track's facts plus every genre row (source, confidence, rejected); NotFoundError when unknown."""
    get_track(session, track_id)
    data = track_dict(track_facts(session, [track_id])[track_id])
    data["genre_rows"] = genre_rows(session, track_id)
    return data


def record_events(
    session: Session, user_name: str, events: list[tuple[int, datetime, int | None, bool]]
) -> dict[str, int]:
    """Store plays of a user (created on first use); a play already stored counts as a duplicate."""
    user = get_or_create_user(session, user_name)
    imported = duplicates = 0
    for track_id, played_at, ms_played, skipped in events:
        get_track(session, track_id)
        if ms_played is not None and ms_played < 0:
            raise InputError(f"ms_played {ms_played} is negative")
        if record_play(session, user.id, track_id, played_at, ms_played=ms_played, skipped=skipped):
            imported += 1
        else:
            duplicates += 1
    return {"imported": imported, "duplicates": duplicates}
