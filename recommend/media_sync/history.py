"""A server user's songs mapped to tracks and their feedback pulled into the listener's history.

Each run compares what the server shows with what the last run saw (``MediaServerSong``), so a second run
adds nothing: a play count that grew adds the difference as plays at the server's last-played time (one
second apart, newest first); a new star adds ``STAR_PLAYS`` completed plays at the starred time (a strong
positive); a new rating of 4 or 5 adds one or two plays, of 1 or 2 a skip (a negative), at the sync time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import MediaServerAccount, MediaServerSong
from soundalike.ingest.errors import InputError
from soundalike.ingest.listening import check_played_at, record_play
from soundalike.ingest.track_match import Match, SongRef, TrackMatcher
from soundalike.recommend.media_server import PathMap
from soundalike.recommend.media_sync.client import ServerSong

STAR_PLAYS = 3
LIKED_RATING = 4
DISLIKED_RATING = 2
MAX_PLAYS_PER_SONG = 1000
"""A count that grew by more adds this many plays: enough for the profile, bounded for the database."""


@dataclass
class Pulled:
    """What a pull saw and did: songs, mapped songs, plays added, and each unmatched song with its reason."""

    songs: int = 0
    matched: int = 0
    events_added: int = 0
    unmatched: list[dict[str, str]] = field(default_factory=list)


def song_ref(song: ServerSong, path_map: PathMap) -> SongRef:
    """How the matcher sees a server's song: its path under our roots, recording id, artist, title, length."""
    paths = path_map.ours(song.path) if song.path else []
    return SongRef(tuple(paths), song.musicbrainz_id, song.artist, song.title, song.duration)


def as_utc(stamp: datetime | None) -> datetime | None:
    """A stored time in UTC (SQLite gives it back naive)."""
    return stamp.replace(tzinfo=UTC) if stamp is not None and stamp.tzinfo is None else stamp


def feedback_plays(song: ServerSong, seen: MediaServerSong, now: datetime) -> list[tuple[datetime, bool]]:
    """(played_at, skipped) plays for what changed on the server since ``seen``."""
    plays: list[tuple[datetime, bool]] = []
    grown = min(song.play_count - seen.play_count, MAX_PLAYS_PER_SONG)
    last = song.played or now
    plays += [(last - timedelta(seconds=i), False) for i in range(max(grown, 0))]
    if song.starred is not None and song.starred != as_utc(seen.starred_at):
        plays += [(song.starred - timedelta(seconds=i), False) for i in range(STAR_PLAYS)]
    if song.rating != seen.rating:
        if song.rating >= LIKED_RATING:
            plays += [(now - timedelta(seconds=i), False) for i in range(song.rating - LIKED_RATING + 1)]
        elif 0 < song.rating <= DISLIKED_RATING:
            plays.append((now, True))
    return plays


def pull_history(
    session: Session,
    account: MediaServerAccount,
    user_id: int,
    songs: Iterable[ServerSong],
    matcher: TrackMatcher,
    path_map: PathMap,
    now: datetime,
) -> Pulled:
    """Map every song of the account's library and store the plays its feedback adds for listener ``user_id``."""
    seen = {
        s.song_id: s for s in session.scalars(select(MediaServerSong).where(MediaServerSong.account_id == account.id))
    }
    pulled = Pulled()
    for song in songs:
        pulled.songs += 1
        found: Match = matcher.match(song_ref(song, path_map))
        state = seen.get(song.id) or MediaServerSong(
            account_id=account.id, song_id=song.id, play_count=0, starred_at=None, rating=0
        )
        state.track_id = found.track_id
        session.add(state)
        if found.track_id is None:
            pulled.unmatched.append({"song": song.id, "path": song.path or "", "reason": found.reason or ""})
            continue
        pulled.matched += 1
        for played_at, skipped in feedback_plays(song, state, now):
            try:
                at = check_played_at(played_at, now=now)
            except InputError as exc:
                pulled.unmatched.append({"song": song.id, "path": song.path or "", "reason": str(exc)})
                continue
            pulled.events_added += record_play(session, user_id, found.track_id, at, ms_played=None, skipped=skipped)
        state.play_count, state.starred_at, state.rating = song.play_count, song.starred, song.rating
    session.flush()
    return pulled


def server_song_ids(session: Session, account: MediaServerAccount, track_ids: list[int]) -> list[str]:
    """The account's song id for each of these tracks the server has, in their order."""
    rows = session.execute(
        select(MediaServerSong.track_id, MediaServerSong.song_id)
        .where(MediaServerSong.account_id == account.id, MediaServerSong.track_id.in_(track_ids))
        .order_by(MediaServerSong.id)
    )
    by_track: dict[int, str] = {}
    for track_id, song_id in rows:
        by_track.setdefault(int(track_id), song_id)
    return [by_track[t] for t in track_ids if t in by_track]
