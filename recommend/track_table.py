"""Ranking facts of every track held in memory: loaded once, read on every request without SQL."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.segments import SegmentScoring
from soundalike.index.sorted_ids import ABSENT, positions
from soundalike.ingest.tags import normalise_genre
from soundalike.recommend.facts import TrackFacts, read_facts, track_genres
from soundalike.recommend.filters import Filters
from soundalike.recommend.mood_review import load_moods
from soundalike.recommend.moods import MoodTable
from soundalike.recommend.ranking import SearchIndex

NO_TRACK = ABSENT


class TrackTable:
    """Per-track facts as arrays aligned on sorted track ids; repeated strings and genre sets are shared.

    Filters and canonical-audio checks run vectorised over candidate rows; ``facts`` builds ``TrackFacts``
    only for the rows a request returns.
    """

    def __init__(self, tracks: list[TrackFacts], moods: MoodTable | None = None) -> None:
        """Build from the facts of every track, ordered by track id, and their moods (none when not given)."""
        shared: dict[Any, Any] = {}

        def column(values: Iterable[Any]) -> list[Any]:
            return [shared.setdefault(v, v) for v in values]

        def numbers(values: Iterable[float | None]) -> np.ndarray:
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

        self.ids = np.array([t.track_id for t in tracks], dtype=np.int64)
        self.path = [t.path for t in tracks]
        self.title = [t.title for t in tracks]
        self.artist, self.album = column(t.artist for t in tracks), column(t.album for t in tracks)
        self.year = numbers(t.year for t in tracks)
        self.tempo = numbers(t.tempo for t in tracks)
        self.key = column(t.key for t in tracks)
        self.status = column(t.status for t in tracks)
        self.ok = np.array([s == "ok" for s in self.status], dtype=bool)
        self.duplicate_of = np.array(
            [NO_TRACK if t.duplicate_of_id is None else t.duplicate_of_id for t in tracks], dtype=np.int64
        )
        self.canonical_ids = np.where(self.duplicate_of != NO_TRACK, self.duplicate_of, self.ids)
        names = sorted({str(k).strip().lower() for k in self.key if k is not None})
        self.key_names = {name: code for code, name in enumerate(names)}
        self.key_code = np.array(
            [NO_TRACK if k is None else self.key_names[str(k).strip().lower()] for k in self.key], dtype=np.int32
        )
        self.genres = column(t.genres for t in tracks)
        self.note = column(t.note for t in tracks)
        self.genre_keys = column(_keys(g) for g in self.genres)
        self.moods = moods if moods is not None else MoodTable.empty(len(tracks))

    @classmethod
    def load(cls, session: Session) -> TrackTable:
        """Every track's facts in two queries (tracks, genres), and their calibrated moods."""
        facts = read_facts(session)
        return cls(facts, load_moods(session, np.array([t.track_id for t in facts], dtype=np.int64)))

    def __len__(self) -> int:
        """Number of tracks held."""
        return len(self.ids)

    def rows(self, track_ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Row of each track id, ``NO_TRACK`` (-1) for ids not in the table."""
        wanted = np.asarray(list(track_ids) if not isinstance(track_ids, np.ndarray) else track_ids, dtype=np.int64)
        return positions(self.ids, wanted)

    def facts(self, track_ids: Iterable[int]) -> dict[int, TrackFacts]:
        """Facts of the tracks that exist among ``track_ids``, keyed by id."""
        ids = list(dict.fromkeys(int(t) for t in track_ids))
        rows = self.rows(ids)
        rows = rows[rows != NO_TRACK]
        years, tempos = self.year[rows].tolist(), self.tempo[rows].tolist()
        duplicates = self.duplicate_of[rows].tolist()
        found = {}
        for i, row in enumerate(rows.tolist()):
            track_id = int(self.ids[row])
            found[track_id] = TrackFacts(
                track_id=track_id,
                path=self.path[row],
                title=self.title[row],
                artist=self.artist[row],
                album=self.album[row],
                year=None if math.isnan(years[i]) else int(years[i]),
                tempo=None if math.isnan(tempos[i]) else tempos[i],
                key=self.key[row],
                duplicate_of_id=None if duplicates[i] == NO_TRACK else duplicates[i],
                status=self.status[row],
                genres=self.genres[row],
                note=self.note[row],
            )
        return found

    def canonical(self, rows: np.ndarray) -> np.ndarray:
        """The track whose audio each row is (its ``duplicate_of_id`` when set, else itself)."""
        return self.canonical_ids[rows]

    def accepts(self, filters: Filters, rows: np.ndarray) -> np.ndarray:
        """Whether each row passes every constraint of ``filters`` and is a playable track not excluded (itself or
        its canonical audio); unknown rows (-1) are refused."""
        known = rows != NO_TRACK
        at = np.where(known, rows, 0)
        keep = known & self.ok[at]
        if filters.exclude:
            excluded = np.fromiter(filters.exclude, dtype=np.int64)
            keep &= ~np.isin(self.ids[at], excluded) & ~np.isin(self.canonical_ids[at], excluded)
        if filters.genres:
            keep &= np.fromiter((bool(filters.genres & self.genre_keys[r]) for r in at), dtype=bool, count=len(at))
        if filters.moods:
            keep &= self.moods.has_all(filters.moods, at)
        if filters.keys:
            codes = [self.key_names[k] for k in filters.keys if k in self.key_names]
            keep &= np.isin(self.key_code[at], np.array(codes, dtype=np.int32))
        keep &= _within(self.tempo[at], filters.tempo_min, filters.tempo_max)
        keep &= _within(self.year[at], filters.year_min, filters.year_max)
        return keep

    def set_mood(self, track_id: int, mood: str, *, accepted: bool) -> None:
        """Apply a curator's verdict on a track's mood to the table."""
        row = int(self.rows([track_id])[0])
        if row != NO_TRACK:
            self.moods.apply(row, mood, accepted=accepted)

    def refresh_genres(self, session: Session, track_ids: Iterable[int]) -> None:
        """Re-read the genres of these tracks (after a curator review) into the table."""
        ids = list(track_ids)
        found = track_genres(session, ids)
        for t, r in zip(ids, self.rows(ids), strict=True):
            if r != NO_TRACK:
                self.genres[int(r)] = found.get(t, frozenset())
                self.genre_keys[int(r)] = _keys(self.genres[int(r)])


def _keys(genres: frozenset[str]) -> frozenset[str]:
    """Genre names as filters match them (``normalise_genre``): stored names keep their curator's spelling."""
    return frozenset(normalise_genre(g) for g in genres)


def _within(values: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    if low is None and high is None:
        return np.ones(len(values), dtype=bool)
    keep = ~np.isnan(values)
    if low is not None:
        keep &= values >= low
    if high is not None:
        keep &= values <= high
    return keep


class CatalogueIndex(SearchIndex, Protocol):
    """An index whose tracks' facts are held in memory beside it."""

    @property
    def table(self) -> TrackTable:
        """The facts of the tracks the index serves."""
        ...

    @property
    def segments(self) -> SegmentScoring | None:
        """The segment re-ranking of similar tracks fitted with the index (None: track scores alone)."""
        ...
