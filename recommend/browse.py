"""Service functions behind catalogue browsing and listening events."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.embed.review import review_genre
from soundalike.ingest.db.models import User
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.ingest.history import erase_user, record_play
from soundalike.ingest.paths import exact_path_b64, from_db_path, readable_path
from soundalike.ingest.repository import get_or_create_user, get_track
from soundalike.recommend.facts import TrackFacts, genre_rows, track_facts
from soundalike.recommend.filters import Filters
from soundalike.recommend.track_table import TrackTable

MAX_PAGE = 500


def track_dict(facts: TrackFacts) -> dict[str, object]:
    """JSON-ready catalogue facts of a track (genres sorted; path readable, exact bytes apart as in results)."""
    data = asdict(facts)
    data["path"], data["path_bytes"] = readable_path(facts.path), exact_path_b64(facts.path)
    data["genres"] = sorted(facts.genres)
    return data


def list_tracks(table: TrackTable, *, offset: int, limit: int) -> dict[str, object]:
    """One page of playable tracks with the total count, read from the served track table (no SQL)."""
    total, rows = search_tracks(table, "", Filters(), offset=offset, limit=limit)
    return {"total": total, "offset": offset, "limit": limit, "tracks": [track_dict(r) for r in rows]}


def track_detail(session: Session, track_id: int) -> dict[str, object]:
    """A track's facts plus every genre row (source, confidence, rejected); NotFoundError when unknown."""
    get_track(session, track_id)
    data = track_dict(track_facts(session, [track_id])[track_id])
    data["genre_rows"] = genre_rows(session, track_id)
    return data


def search_tracks(
    table: TrackTable, text: str, filters: Filters, *, offset: int, limit: int
) -> tuple[int, list[TrackFacts]]:
    """(total, one page) of playable tracks whose title, artist, album or path holds ``text`` (any case) and
    that pass ``filters``, ordered by id; read from the served track table, not SQL."""
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise InputError(f"need offset >= 0 and 1 <= limit <= {MAX_PAGE}, got offset={offset} limit={limit}")
    rows = np.flatnonzero(table.accepts(filters, np.arange(len(table), dtype=np.int64)))
    needle = text.strip().casefold()
    if needle:
        fields = (table.title, table.artist, table.album)
        rows = np.array(
            [
                r
                for r in rows.tolist()
                if any(needle in (f[r] or "").casefold() for f in fields)
                or needle in readable_path(table.path[r]).casefold()
            ],
            dtype=np.int64,
        )
    page = table.ids[rows[offset : offset + limit]].tolist()
    facts = table.facts(page)
    return len(rows), [facts[t] for t in page]


def track_file(session: Session, track_id: int) -> Path:
    """The audio file of a playable track; NotFoundError when the track is unknown, deleted or its file gone."""
    track = get_track(session, track_id)
    path = from_db_path(track.path)
    if track.status != "ok" or not path.is_file():
        raise NotFoundError(f"track {track_id} has no playable file")
    return path


def review_track_genre(
    session: Session, table: TrackTable, track_id: int, genre: str, *, accept: bool
) -> list[dict[str, object]]:
    """A curator's verdict (``review_genre``), committed, then made visible to ranking at once; returns the
    track's genre rows."""
    review_genre(session, track_id, genre, accept=accept)
    session.commit()
    table.refresh_genres(session, [track_id])
    return genre_rows(session, track_id)


def user_names(session: Session) -> list[str]:
    """Every listener's name, sorted."""
    return list(session.scalars(select(User.name).order_by(User.name)))


def record_events(
    session: Session, user_name: str, events: list[tuple[int, datetime, int | None, bool]]
) -> dict[str, int]:
    """Store plays of a user (created on first use), committed before the counts are returned; a play already
    stored counts as a duplicate."""
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
    session.commit()
    return {"imported": imported, "duplicates": duplicates}


def erase_listener(session: Session, user_name: str) -> int:
    """Erase a user and every event of theirs (``erase_user``), committed before the count is returned."""
    deleted = erase_user(session, user_name)
    session.commit()
    return deleted
