"""Typed SQLAlchemy 2.0 models: catalogue, genres, moods, features, embeddings, users, history, radio, runs,
media servers, mixes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from soundalike.ingest.db.base import Base
from soundalike.ingest.names import MAX_GENRE_NAME, MAX_USER_NAME

TRACK_STATUSES = ("ok", "failed", "deleted")
MAX_INTEGER = 2**31 - 1
"""The largest value an ``Integer`` column holds on every backend."""
MAX_ID = MAX_INTEGER
"""The largest id an ``Integer`` primary key holds."""
GENRE_SOURCES = ("tag", "label", "curator", "predicted", "suggested")
CURATED_SOURCES = ("label", "curator")
"""The sources whose genres people chose; together they make the genre taxonomy."""
MACHINE_SOURCES = ("predicted", "suggested")
"""The genre head's calls: assigned genres, and suggestions it was not sure enough to assign (never assigned)."""


def utcnow() -> datetime:
    """Timezone-aware current time, the default of every timestamp column."""
    return datetime.now(UTC)


class Track(Base):
    """One audio file of the catalogue, analysed or failed with a reason."""

    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[float] = mapped_column(Float)
    duration: Mapped[float | None] = mapped_column(Float)
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    artist: Mapped[str | None] = mapped_column(Text)
    album: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)
    bpm: Mapped[float | None] = mapped_column(Float)
    musicbrainz_track_id: Mapped[str | None] = mapped_column(String(36))
    musicbrainz_artist_id: Mapped[str | None] = mapped_column(String(36))
    musicbrainz_album_id: Mapped[str | None] = mapped_column(String(36))
    tempo: Mapped[float | None] = mapped_column(Float)
    key: Mapped[str | None] = mapped_column(String(16))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id", ondelete="SET NULL"), index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="ok", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    """What to know about an ok track's analysis (``"; "``-joined), e.g. a truncated file or a short one looped."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    genres: Mapped[list[TrackGenre]] = relationship(back_populates="track", cascade="all, delete-orphan")


class Genre(Base):
    """A genre name, normalised to lower case."""

    __tablename__ = "genres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_GENRE_NAME), unique=True)


class TrackGenre(Base):
    """A genre attached to a track, with where it came from and how sure we are."""

    __tablename__ = "track_genres"
    __table_args__ = (UniqueConstraint("track_id", "genre_id", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    genre_id: Mapped[int] = mapped_column(ForeignKey("genres.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    rejected: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    confidence: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    track: Mapped[Track] = relationship(back_populates="genres")
    genre: Mapped[Genre] = relationship()


class GenreDecision(Base):
    """A curator's verdict on a track's genre and what it replaced, so that it can be undone."""

    __tablename__ = "genre_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    genre: Mapped[str] = mapped_column(String(MAX_GENRE_NAME))
    accepted: Mapped[bool] = mapped_column(Boolean)
    prior_verdict: Mapped[bool | None] = mapped_column(Boolean)
    """The curator row it replaced: accepted (True), rejected (False) or none (None)."""
    prior_confidence: Mapped[float | None] = mapped_column(Float)
    """The confidence of the prediction a rejection dropped."""
    prior_model_version: Mapped[str | None] = mapped_column(String(64))
    dropped_prediction: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Feature(Base):
    """A named float32 feature vector of a track (e.g. MFCC statistics)."""

    __tablename__ = "features"
    __table_args__ = (UniqueConstraint("track_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    """The version of what made the vector, as long as an embedding's ``model_version``."""
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class TrackMood(Base):
    """A curator's verdict on a mood of a track: accepted or rejected, it overrides the calibrated facet."""

    __tablename__ = "track_moods"
    __table_args__ = (UniqueConstraint("track_id", "mood"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    mood: Mapped[str] = mapped_column(String(64))
    accepted: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Embedding(Base):
    """A track embedding produced by one model name and version."""

    __tablename__ = "embeddings"
    __table_args__ = (UniqueConstraint("track_id", "model_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    model_name: Mapped[str] = mapped_column(String(64), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """A listener, known by an external name or id."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_USER_NAME), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ListeningEvent(Base):
    """One play of a track by a user; the same (user, track, played_at) is stored once."""

    __tablename__ = "listening_events"
    __table_args__ = (UniqueConstraint("user_id", "track_id", "played_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    played_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ms_played: Mapped[int | None] = mapped_column(Integer)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)


class RadioSession(Base):
    """A radio: what it was seeded with (``{"tracks": [ids]}``, open to other kinds of seed) and its listener."""

    __tablename__ = "radio_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    seeds: Mapped[dict[str, list[int]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RadioTrack(Base):
    """A track a radio served, in order, with the listener's feedback: played, or skipped with its weight."""

    __tablename__ = "radio_tracks"
    __table_args__ = (UniqueConstraint("session_id", "track_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("radio_sessions.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    event: Mapped[str | None] = mapped_column(String(8))
    weight: Mapped[float | None] = mapped_column(Float)
    served_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IngestRun(Base):
    """One run of ``soundalike ingest``: what it saw and what it did."""

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    roots: Mapped[str] = mapped_column(Text)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    moved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    deleted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    duplicates: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    seconds: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="running")


class ApiKey(Base):
    """A credential for the HTTP API: only a SHA-256 hash of the secret is stored, with its scope.

    ``subsonic_password`` is set only for keys the operator lets sign in as a Subsonic user (the key's name):
    Subsonic token auth sends md5(password + salt), so the server must keep the password itself, in clear.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    subsonic_password: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MediaServerAccount(Base):
    """One user's sign-in to a Subsonic media server, known by the server's ``name``; the secret is encrypted."""

    __tablename__ = "media_server_accounts"
    __table_args__ = (UniqueConstraint("name", "username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text)
    username: Mapped[str] = mapped_column(String(255))
    auth: Mapped[str] = mapped_column(String(16))
    """``password`` or ``api_key``: what the encrypted ``secret`` holds."""
    secret: Mapped[bytes] = mapped_column(LargeBinary)
    path_map: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MediaServerSong(Base):
    """What the last sync saw of one song for one account: the track it maps to and the feedback counted."""

    __tablename__ = "media_server_songs"
    __table_args__ = (UniqueConstraint("account_id", "song_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("media_server_accounts.id", ondelete="CASCADE"), index=True)
    song_id: Mapped[str] = mapped_column(String(255))
    track_id: Mapped[int | None] = mapped_column(ForeignKey("tracks.id", ondelete="SET NULL"), index=True)
    play_count: Mapped[int] = mapped_column(Integer, default=0)
    starred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rating: Mapped[int] = mapped_column(Integer, default=0)


class MediaServerPlaylist(Base):
    """A playlist Soundalike made on a media server for an account, found again by its server id."""

    __tablename__ = "media_server_playlists"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("media_server_accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    playlist_id: Mapped[str] = mapped_column(String(255))


class MediaSyncRun(Base):
    """One sync with a media server: its counts and errors as JSON text, ``ok`` or ``failed``."""

    __tablename__ = "media_sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="running")
    counts: Mapped[str] = mapped_column(Text, default="{}")
    errors: Mapped[str] = mapped_column(Text, default="[]")


class Mix(Base):
    """A named group of similar tracks cut from the whole catalogue, rebuilt by ``mixes refresh``."""

    __tablename__ = "mixes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    model_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    tracks: Mapped[list[MixTrack]] = relationship(
        back_populates="mix", cascade="all, delete-orphan", order_by="MixTrack.position"
    )


class MixTrack(Base):
    """A track's place in a mix's listening order."""

    __tablename__ = "mix_tracks"
    __table_args__ = (UniqueConstraint("mix_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mix_id: Mapped[int] = mapped_column(ForeignKey("mixes.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)

    mix: Mapped[Mix] = relationship(back_populates="tracks")
