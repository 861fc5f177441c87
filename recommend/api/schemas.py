"""Pydantic schemas of every request and response body; result rows are the ``Result`` dataclass itself."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from soundalike.ingest.db.models import MAX_ID, MAX_INTEGER
from soundalike.ingest.names import MAX_GENRE_NAME, MAX_USER_NAME
from soundalike.recommend.defaults import DEFAULTS
from soundalike.recommend.results import PATH_BYTES_DESCRIPTION, PATH_DESCRIPTION, Result


class FilterQuery(BaseModel):
    """Result filters a request names in its query string (``?genre=...&tempo_min=...``)."""

    genres: list[str] | None = Field(default=None, alias="genre", description="Keep tracks with any of these genres.")
    moods: list[str] | None = Field(
        default=None, alias="mood", description="Keep tracks with every one of these moods."
    )
    tempo_min: float | None = Field(default=None, ge=0, le=DEFAULTS.max_tempo)
    tempo_max: float | None = Field(default=None, ge=0, le=DEFAULTS.max_tempo)
    keys: list[str] | None = Field(default=None, alias="key", description="Keep tracks in any of these keys.")
    year_min: int | None = Field(default=None, ge=0, le=DEFAULTS.max_year)
    year_max: int | None = Field(default=None, ge=0, le=DEFAULTS.max_year)
    exclude: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        default=None, description="Track ids to leave out."
    )


class PlaylistQuery(BaseModel):
    """How a listener's playlist is shaped, from the query string."""

    n: int = Field(default=DEFAULTS.playlist_length, ge=1, le=DEFAULTS.max_results)
    half_life_days: float = Field(default=DEFAULTS.half_life_days, gt=0, le=DEFAULTS.max_half_life_days)
    diversity: float = Field(default=DEFAULTS.playlist_diversity, ge=0.0, le=1.0)
    artist_cap: int | None = Field(default=DEFAULTS.playlist_artist_cap, ge=1, le=DEFAULTS.max_artist_cap)
    include_heard: bool = False


class ResultsOut(BaseModel):
    """Ranked tracks."""

    results: list[Result]


class InterestOut(BaseModel):
    """One cluster of the listener's history."""

    cluster: int
    weight: float
    tracks: int


class PlaylistOut(BaseModel):
    """A user's playlist and the strategy that made it."""

    user: str
    strategy: str = Field(description="personalised, cold_start_genre or cold_start_popularity")
    interests: list[InterestOut]
    results: list[Result]


class TrackOut(BaseModel):
    """Catalogue facts of a track."""

    track_id: int
    path: str = Field(description=PATH_DESCRIPTION)
    path_bytes: str | None = Field(default=None, description=PATH_BYTES_DESCRIPTION)
    title: str | None
    artist: str | None
    album: str | None
    year: int | None
    tempo: float | None
    key: str | None
    duplicate_of_id: int | None
    status: str
    genres: list[str]
    note: str | None = Field(default=None, description="What to know about the analysis: truncated, or looped.")


class GenreRowOut(BaseModel):
    """A genre attached to a track by one source."""

    genre: str
    source: str
    confidence: float | None
    rejected: bool


class TrackDetailOut(TrackOut):
    """A track with every genre row."""

    genre_rows: list[GenreRowOut]


class TrackPageOut(BaseModel):
    """One page of the catalogue."""

    total: int
    offset: int
    limit: int
    tracks: list[TrackOut]


class EventIn(BaseModel):
    """One play of a track."""

    track_id: int = Field(ge=1, le=MAX_ID)
    played_at: datetime
    ms_played: int | None = Field(default=None, ge=0, le=MAX_INTEGER)
    skipped: bool = False


class EventsIn(BaseModel):
    """Plays of one user."""

    events: list[EventIn] = Field(min_length=1, max_length=DEFAULTS.max_events_per_request)


class EventsOut(BaseModel):
    """What was stored."""

    imported: int
    duplicates: int


class EventsDeletedOut(BaseModel):
    """What a user's erasure removed."""

    user: str
    deleted: int


class GenreReviewIn(BaseModel):
    """A curator's verdict on a genre of a track."""

    genre: str = Field(min_length=1, max_length=MAX_GENRE_NAME)
    accept: bool


class MoodReviewIn(BaseModel):
    """A curator's verdict on a mood of a track."""

    mood: str = Field(min_length=1, max_length=DEFAULTS.max_mood_name_length)
    accept: bool


class TrackMoodsOut(BaseModel):
    """The moods a track carries."""

    track_id: int
    moods: list[str]


class MoodFacetOut(BaseModel):
    """One mood: how many tracks carry it and the tag probability a track must exceed to carry it."""

    mood: str
    tracks: int
    threshold: float


class MoodsOut(BaseModel):
    """Every mood of the vocabulary with its facet counts."""

    moods: list[MoodFacetOut]


class MixOut(BaseModel):
    """A mix: its name and its tracks in listening order."""

    id: int
    name: str
    tracks: list[Result]


class MixSummaryOut(BaseModel):
    """A mix without its tracks."""

    id: int
    name: str
    size: int


class MixesOut(BaseModel):
    """Every stored mix."""

    mixes: list[MixSummaryOut]


class HealthOut(BaseModel):
    """Liveness and what is loaded."""

    status: str
    model: str
    indexed: int
    problems: dict[str, str] = Field(default_factory=dict)


class IndexStateOut(BaseModel):
    """The served index: swap generation, saved version, sizes, whether a reload runs and why the last one failed.

    ``process`` is the id of the server process that answered (one of ``serve --workers N``).
    """

    generation: int
    version: str
    process: int
    reloading: bool
    indexed: int
    live: int
    tracks: int
    factory: str
    model_version: str
    last_error: str | None


class RadioIn(BaseModel):
    """What a radio starts from: seed tracks and/or a listener (whose feedback becomes their listening events)."""

    seeds: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default=[], max_length=DEFAULTS.max_seeds, description="Seed track ids."
    )
    user: str | None = Field(default=None, min_length=1, max_length=MAX_USER_NAME)
    n: int = Field(default=DEFAULTS.k, ge=1, le=DEFAULTS.max_results, description="How many tracks to answer at once.")


class RadioTracksOut(BaseModel):
    """A radio's next tracks, in play order."""

    tracks: list[Result]


class RadioOut(RadioTracksOut):
    """A new radio session and its first tracks."""

    session: str


class RadioFeedbackIn(BaseModel):
    """What the listener did with a track the radio served."""

    track_id: int = Field(ge=1, le=MAX_ID)
    event: Literal["played", "skipped"]
    position_s: float = Field(ge=0, le=MAX_INTEGER / 1000, description="Where in the track it ended, in seconds.")


class RadioFeedbackOut(BaseModel):
    """What the feedback stored: a skip's weight (1 early in the track, near 0 at its end), the listener."""

    session: str
    track_id: int
    event: str
    weight: float | None
    recorded_for: str | None
