"""A synthetic catalogue with known styles (genres, albums, artists), stored and indexed for real."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from sqlalchemy import insert, text, update
from sqlalchemy.orm import Session

from soundalike.embed.musicnn import MSD_TAGS
from soundalike.embed.musicnn_encoder import MODEL_VERSION, TAGS_FEATURE
from soundalike.embed.store import put_embeddings
from soundalike.index.streamed_build import build_index
from soundalike.index.track_index import save_index
from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.repository import set_feature, set_track_genre
from soundalike.ingest.settings import Settings
from soundalike.recommend.api_keys import create_key
from soundalike.recommend.service import Service

GENRES = ("ambient", "techno", "folk", "jazz")
ALBUMS_PER_GENRE = 3
TRACKS_PER_ALBUM = 6
DIM = 16
GENRE_MOODS = {
    "ambient": ("ambient", "mellow", "chillout"),
    "techno": ("electronic", "dance", "party"),
    "folk": ("folk", "acoustic", "guitar"),
    "jazz": ("jazz", "instrumental", "easy listening"),
}
"""The MusiCNN tags each genre's tracks score high on (the others stay below 0.1)."""


@dataclass
class Catalogue:
    """The synthetic catalogue: ids by genre and album, one duplicate pair and one deleted track."""

    settings: Settings
    service: Service
    genre_of: dict[int, str]
    album_of: dict[int, str]
    duplicate: tuple[int, int]
    deleted: int


def catalogue_settings(home: Path, database_url: str | None = None) -> Settings:
    """Settings of a catalogue in ``home`` with MFCC statistics as its model; SQLite in ``home`` by default."""
    url = database_url or f"sqlite:///{home / 'catalogue.db'}"
    return Settings(home=home, database_url=url, embedding_model="mfcc-stats")


def make_catalogue(settings: Settings, seed: int = 7) -> Catalogue:
    """72 tracks in 4 genres x 3 albums (one artist per album), tempo/key sometimes unknown, indexed."""
    rng = np.random.default_rng(seed)
    factory = open_database(settings.db_url)
    centres = {g: rng.standard_normal(DIM) for g in GENRES}
    rows, vectors, genre_of, album_of = [], [], {}, {}
    n = 0
    for g_i, genre in enumerate(GENRES):
        for a in range(ALBUMS_PER_GENRE):
            album_centre = centres[genre] + 0.35 * rng.standard_normal(DIM)
            for t in range(TRACKS_PER_ALBUM):
                n += 1
                rows.append(
                    {
                        "id": n,
                        "path": f"/music/{genre}/{a}/{t}.flac",
                        "size": 1000,
                        "mtime": 0.0,
                        "status": "ok",
                        "title": f"{genre} {a}-{t}",
                        "artist": f"{genre} artist {a}",
                        "album": f"{genre} album {a}",
                        "year": 1990 + 10 * g_i + a,
                        "tempo": None if t == 0 else 70.0 + 30 * g_i + t,
                        "key": None if t == 1 else ("C major" if t % 2 else "A minor"),
                    }
                )
                vectors.append(album_centre + 0.12 * rng.standard_normal(DIM))
                genre_of[n] = genre
                album_of[n] = f"{genre} album {a}"
    matrix = np.stack(vectors).astype(np.float32)
    ids = np.arange(1, n + 1)
    with session_scope(factory) as session:
        session.execute(insert(Track), rows)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT setval(pg_get_serial_sequence('tracks', 'id'), :n)"), {"n": n})
        session.execute(update(Track).where(Track.id == 2).values(duplicate_of_id=1))
        session.execute(update(Track).where(Track.id == 3).values(status="deleted"))
        matrix[1] = matrix[0]
        for tid, genre in genre_of.items():
            set_track_genre(session, tid, genre, source="tag")
        put_embeddings(session, "mfcc-stats", "synthetic", ids, matrix)
        set_tag_probabilities(session, genre_of, seed)
    save_index(build_index(ids, matrix, model_name="mfcc-stats", model_version="synthetic"), settings.index_dir)
    service = Service.open(settings, factory, device=torch.device("cpu"))
    return Catalogue(settings, service, genre_of, album_of, (1, 2), 3)


def set_tag_probabilities(session: Session, genre_of: dict[int, str], seed: int) -> None:
    """Store each track's 50 MusiCNN tag probabilities: its genre's ``GENRE_MOODS`` high, the rest low."""
    rng = np.random.default_rng(seed + 1)
    names = [t.lower() for t in MSD_TAGS]
    for tid, genre in genre_of.items():
        probabilities = 0.1 * rng.random(len(names))
        for mood in GENRE_MOODS[genre]:
            probabilities[names.index(mood)] = 0.5 + 0.4 * rng.random()
        set_feature(session, tid, TAGS_FEATURE, MODEL_VERSION, probabilities.astype(np.float32))


def close_catalogue(catalogue: Catalogue) -> None:
    """Close the catalogue's service and its database connections (SQLite writes its WAL back to the file)."""
    catalogue.service.close()
    catalogue.service.factory.kw["bind"].dispose()


def copy_catalogue(template: Catalogue, home: Path) -> Catalogue:
    """A closed SQLite ``template`` copied to ``home`` (database and index), served by a service of its own."""
    shutil.copytree(template.settings.home, home)
    settings = catalogue_settings(home)
    return replace(template, settings=settings, service=Service.open(settings, device=torch.device("cpu")))


def bearer(catalogue: Catalogue, name: str, scope: str) -> dict[str, str]:
    """An ``Authorization`` header with a new API key of ``scope`` stored in the catalogue's database."""
    with session_scope(catalogue.service.factory) as session:
        return {"Authorization": f"Bearer {create_key(session, name, scope)}"}
