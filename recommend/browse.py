"""Service functions behind catalogue browsing."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.genre_edit import GenreChange, apply_genre_change
from soundalike.embed.review import review_genre, undo_decision
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.ingest.library import library_file
from soundalike.ingest.paths import exact_path_b64, readable_path
from soundalike.ingest.repository import get_track
from soundalike.recommend.facts import TrackFacts, genre_rows, track_facts
from soundalike.recommend.filters import Filters
from soundalike.recommend.mood_review import review_mood
from soundalike.recommend.track_table import NO_TRACK, TrackTable

MAX_PAGE = 500


def track_dict(facts: TrackFacts) -> dict[str, object]:
    """JSON-ready catalogue facts of a track (genres sorted; path readable, exact bytes apart as in results)."""
    data = asdict(facts)
    data["path"], data["path_bytes"] = readable_path(facts.path), exact_path_b64(facts.path)
    data["genres"] = sorted(facts.genres)
    return data


def check_page(offset: int, limit: int) -> None:
    """InputError unless ``offset`` >= 0 and 1 <= ``limit`` <= ``MAX_PAGE``."""
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise InputError(f"need offset >= 0 and 1 <= limit <= {MAX_PAGE}, got offset={offset} limit={limit}")


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
    check_page(offset, limit)
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


def track_file(session: Session, track_id: int, *, follow_symlinks: bool) -> tuple[Path, os.stat_result]:
    """The real path and status of a playable track's audio file, still the one ingested (``library_file``);
    NotFoundError when the track is unknown or deleted, or its file gone, out of the library or changed."""
    track = get_track(session, track_id)
    if track.status != "ok":
        raise NotFoundError(f"track {track_id} has no playable file")
    return library_file(session, track, follow_symlinks=follow_symlinks)


def track_moods(table: TrackTable, track_id: int) -> dict[str, object]:
    """The moods a track carries (calibrated facets, curator verdicts applied), from the served table."""
    row = int(table.rows([track_id])[0])
    if row == NO_TRACK:
        raise NotFoundError(f"no track with id {track_id}")
    return {"track_id": track_id, "moods": table.moods.of_row(row)}


def review_track_mood(
    session: Session, table: TrackTable, track_id: int, mood: str, *, accept: bool
) -> dict[str, object]:
    """A curator's verdict on a track's mood (``review_mood``), committed, then seen by filters and search at once;
    returns the track's moods."""
    name = review_mood(session, track_id, mood, accept=accept)
    session.commit()
    table.set_mood(track_id, name, accepted=accept)
    return track_moods(table, track_id)


def review_track_genre(
    session: Session, table: TrackTable, track_id: int, genre: str, *, accept: bool
) -> list[dict[str, object]]:
    """A curator's verdict (``review_genre``), committed, then made visible to ranking at once; returns the
    track's genre rows."""
    review_genre(session, track_id, genre, accept=accept)
    session.commit()
    table.refresh_genres(session, [track_id])
    return genre_rows(session, track_id)


def undo_genre_decision(session: Session, table: TrackTable, decision_id: int) -> int:
    """Undo a curator's genre decision (``undo_decision``), committed and seen by ranking at once; returns the
    track's id."""
    track_id = undo_decision(session, decision_id).track_id
    session.commit()
    table.refresh_genres(session, [track_id])
    return track_id


def change_genre(session: Session, table: TrackTable, genre: str, into: str | None) -> GenreChange:
    """Rename or merge ``genre`` into ``into``, or delete it (``into`` None), committed and seen by ranking at once."""
    change, touched = apply_genre_change(session, genre, into)
    session.commit()
    table.refresh_genres(session, touched)
    return change
