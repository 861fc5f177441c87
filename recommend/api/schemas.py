"""Pydantic schemas of every request and response body."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AspectOut(BaseModel):
    """One aspect of a match and its share of the similarity."""

    aspect: str = Field(description="style, timbre, harmony or rhythm")
    score: float


class WhyOut(BaseModel):
    """Why a track was recommended."""

    basis: str
    anchor_track_id: int | None = None
    similarity: float | None = None
    cluster: int | None = None
    shared_genres: list[str] = []
    tempo_delta: float | None = None
    same_key: bool | None = None
    aspects: list[AspectOut] = Field(
        default=[],
        description="What matched, best first, when the embedding model is fusion (scores sum to the cosine)",
    )
    text: str


PATH_DESCRIPTION = "The file name as text; a byte that is not UTF-8 shows as U+FFFD."
PATH_BYTES_DESCRIPTION = "Base64 of the file name's exact bytes when they are not valid UTF-8, else null."


class ResultOut(BaseModel):
    """One ranked track."""

    track_id: int
    path: str = Field(description=PATH_DESCRIPTION)
    path_bytes: str | None = Field(default=None, description=PATH_BYTES_DESCRIPTION)
    score: float
    title: str | None
    artist: str | None
    album: str | None
    year: int | None = None
    tempo: float | None = None
    key: str | None = None
    genres: list[str] = []
    why: WhyOut | None = None


class ResultsOut(BaseModel):
    """Ranked tracks."""

    results: list[ResultOut]


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
    results: list[ResultOut]


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

    track_id: int = Field(ge=1, le=2**31 - 1)
    played_at: datetime
    ms_played: int | None = Field(default=None, ge=0, le=2**31 - 1)
    skipped: bool = False


class EventsIn(BaseModel):
    """Plays of one user."""

    events: list[EventIn] = Field(min_length=1, max_length=10_000)


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

    genre: str = Field(min_length=1, max_length=128)
    accept: bool


class MoodReviewIn(BaseModel):
    """A curator's verdict on a mood of a track."""

    mood: str = Field(min_length=1, max_length=64)
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


class MixTrackOut(ResultOut):
    """A track of a mix, in listening order."""


class MixOut(BaseModel):
    """A mix: its name and its tracks in listening order."""

    id: int
    name: str
    tracks: list[MixTrackOut]


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
