"""Which catalogue track a song named elsewhere is: by path, then MusicBrainz recording id, then normalised
artist + title with the duration within ``DURATION_TOLERANCE_S``. Never guessed: an unmatched song says why.

The matcher is a pure function over track facts read once (``load_matcher``); media-server sync and
history files (ListenBrainz, Last.fm, our own format) all match through it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import Track
from soundalike.ingest.tags import parse_mbid

DURATION_TOLERANCE_S = 2.0
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str | None) -> str:
    """Text for comparing names: accents dropped, case folded, punctuation and runs of spaces made one space."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_WORD.sub(" ", bare.casefold()).strip()


@dataclass(frozen=True)
class TrackFacts:
    """What matching needs of one live track; ``original`` is the track its duplicates resolve to."""

    id: int
    original: int
    path: str
    musicbrainz_id: str | None
    artist: str | None
    title: str | None
    duration: float | None


@dataclass(frozen=True)
class SongRef:
    """A song as another system names it: paths it may have here, a recording id, artist, title, seconds."""

    paths: Sequence[str] = ()
    musicbrainz_id: str | None = None
    artist: str | None = None
    title: str | None = None
    duration: float | None = None

    def describe(self) -> str:
        """The song in a message: artist - title, else its first path or recording id."""
        if self.artist or self.title:
            return f"{self.artist or '?'!r} - {self.title or '?'!r}"
        return repr(self.paths[0] if self.paths else self.musicbrainz_id)


@dataclass(frozen=True)
class Match:
    """A track id and how it was found (``path``, ``musicbrainz``, ``tags``), or None with the reason."""

    track_id: int | None
    by: str | None = None
    reason: str | None = None


class TrackMatcher:
    """Songs matched to tracks over facts held in memory."""

    def __init__(self, facts: Iterable[TrackFacts]) -> None:
        """Index ``facts`` by path, recording id and normalised artist + title."""
        self._by_path: dict[str, int] = {}
        self._by_mbid: dict[str, set[int]] = defaultdict(set)
        self._by_name: dict[tuple[str, str], list[TrackFacts]] = defaultdict(list)
        for fact in facts:
            self._by_path[fact.path] = fact.original
            if fact.musicbrainz_id:
                self._by_mbid[fact.musicbrainz_id].add(fact.original)
            if fact.artist and fact.title:
                self._by_name[(normalise(fact.artist), normalise(fact.title))].append(fact)

    def match(self, ref: SongRef) -> Match:
        """The one track ``ref`` names, or the reason there is none (unknown, ambiguous, duration differs)."""
        for path in ref.paths:
            if path in self._by_path:
                return Match(self._by_path[path], "path")
        mbid = parse_mbid(ref.musicbrainz_id)
        if mbid is not None and len(found := self._by_mbid.get(mbid, set())) == 1:
            return Match(next(iter(found)), "musicbrainz")
        if not (ref.artist and ref.title):
            return Match(None, reason=f"no track with the path or MusicBrainz id of {ref.describe()}")
        named = self._by_name.get((normalise(ref.artist), normalise(ref.title)), [])
        if not named:
            return Match(None, reason=f"unknown track {ref.artist!r} - {ref.title!r}")
        timed = named
        if ref.duration is not None:
            timed = [f for f in named if f.duration is None or abs(f.duration - ref.duration) <= DURATION_TOLERANCE_S]
            if not timed:
                return Match(
                    None,
                    reason=f"{ref.artist!r} - {ref.title!r} is known, but not {ref.duration:.0f} s long "
                    f"(within {DURATION_TOLERANCE_S:.0f} s)",
                )
        originals = sorted({f.original for f in timed})
        if len(originals) > 1:
            return Match(None, reason=f"{ref.artist!r} - {ref.title!r} matches {len(originals)} tracks")
        return Match(originals[0], "tags")


def load_matcher(session: Session) -> TrackMatcher:
    """A matcher over every track that is not deleted."""
    rows = session.execute(
        select(
            Track.id,
            Track.duplicate_of_id,
            Track.path,
            Track.musicbrainz_track_id,
            Track.artist,
            Track.title,
            Track.duration,
        ).where(Track.status != "deleted")
    )
    return TrackMatcher(
        TrackFacts(tid, dup or tid, path, mbid, artist, title, duration)
        for tid, dup, path, mbid, artist, title, duration in rows
    )
