from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from soundalike.embed.ingest_consumer import consumer_for
from soundalike.ingest.db.models import Feature, Genre, IngestRun, Track, TrackGenre
from soundalike.ingest.db.session import open_database
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.settings import Settings

from support.audio_factory import make_track

CPU = torch.device("cpu")

FILES = 48
BATCH = 4
CLI = "from soundalike.cli import main; main()"


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("many")
    for n in range(FILES):
        style = ("drone", "beat")[n % 2]
        make_track(folder / f"t{n:02d}.flac", style, seed=n, seconds=2.0, sr=16000, title=f"t{n}", genre=style)
    return folder


@pytest.fixture(scope="module")
def clean_run(many: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The catalogue one uninterrupted ingest of ``many`` stores (MusiCNN, as the CLI runs embed), made once."""
    home = tmp_path_factory.mktemp("clean")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'clean.db'}")
    reference = open_database(settings.db_url)
    consumer = consumer_for(settings, CPU)
    ingest(reference, [many], IngestOptions(settings=settings, device=CPU, consumer=consumer, workers=2))
    return catalogue(reference)


def catalogue(factory: sessionmaker[Session]) -> dict[str, object]:
    """Everything a run stores, keyed by path, so two databases can be compared (feature vectors as float32
    arrays: a CNN batch of other tracks may move the last bits, see ``same_catalogue``)."""
    with factory() as session:
        tracks = sorted(
            (t.path, t.content_hash, t.status, t.title, round(t.duration or 0, 4), t.duplicate_of_id is None)
            for t in session.scalars(select(Track))
        )
        features = sorted(
            (path, name, np.frombuffer(vector, dtype=np.float32))
            for path, name, vector in session.execute(
                select(Track.path, Feature.name, Feature.vector).join(Feature, Feature.track_id == Track.id)
            )
        )
        genres = sorted(
            tuple(row)
            for row in session.execute(
                select(Track.path, Genre.name, TrackGenre.source)
                .join(TrackGenre, TrackGenre.track_id == Track.id)
                .join(Genre, Genre.id == TrackGenre.genre_id)
            )
        )
    return {"tracks": tracks, "features": features, "genres": genres}


def assert_same_catalogue(a: dict[str, object], b: dict[str, object]) -> None:
    """Equal tracks and genres, and the same features to within float32 noise (1e-4)."""
    assert a["tracks"] == b["tracks"] and a["genres"] == b["genres"]
    fa, fb = a["features"], b["features"]
    assert isinstance(fa, list) and isinstance(fb, list)
    assert [(p, n) for p, n, _ in fa] == [(p, n) for p, n, _ in fb]
    worst = max(float(np.abs(x - y).max()) for (_, _, x), (_, _, y) in zip(fa, fb, strict=True))
    assert worst < 1e-4


def count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def tracks_with_features(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count(func.distinct(Feature.track_id)))) or 0)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("db_url", "seed"),
    [("sqlite", 0), ("sqlite", 1), pytest.param("postgres", 2, marks=pytest.mark.postgres)],
    indirect=["db_url"],
)
def test_ingest_killed_mid_run_resumes_to_the_catalogue_of_a_clean_run(
    many: Path, clean_run: dict[str, object], settings: Settings, factory: sessionmaker[Session], seed: int
) -> None:
    """SIGKILL at a seeded point: after a seeded number of committed batches plus a seeded delay of up to one
    batch at the run's own pace, so the kill lands between commits, inside a batch's decode or inside a write."""
    rng = np.random.default_rng(seed)
    kill_after = BATCH * int(rng.integers(2, FILES // BATCH // 2))  # at least half the files left to ingest
    delay_share = float(rng.uniform(0.0, 1.0))
    env = {**os.environ, "SOUNDALIKE_DATABASE_URL": settings.db_url, "SOUNDALIKE_INGEST_BATCH_SIZE": str(BATCH)}
    command = [sys.executable, "-c", CLI, "--home", str(settings.home), "ingest", str(many), "--workers", "2", "--json"]
    process = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    committed, first_commit = 0, None
    while time.monotonic() < deadline and process.poll() is None:
        committed = count(factory, Track)
        if committed and first_commit is None:
            first_commit = (time.monotonic(), committed)
        if committed >= kill_after:
            break
        time.sleep(0.01)
    if first_commit is not None and committed > first_commit[1]:
        time.sleep(delay_share * BATCH * (time.monotonic() - first_commit[0]) / (committed - first_commit[1]))
    assert process.poll() is None, "the ingest finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    stored = count(factory, Track)
    assert BATCH <= stored < FILES
    assert tracks_with_features(factory) == stored  # whole tracks only: each row came with its features
    with factory() as session:
        assert session.scalars(select(IngestRun.status)).all() == ["running"]

    # the server frees a dead process's advisory lock once its connection closes: allow it a moment
    consumer = consumer_for(settings, CPU)  # the CLI run embeds with MusiCNN: resume and reference do too
    resumed = ingest(
        factory, [many], IngestOptions(settings=settings, device=CPU, consumer=consumer, workers=2, wait=30)
    )
    assert (resumed.added, resumed.skipped, resumed.failed) == (FILES - stored, stored, 0)
    with factory() as session:
        statuses = session.scalars(select(IngestRun.status).order_by(IngestRun.id)).all()
    assert statuses == ["interrupted", "finished"]
    assert_same_catalogue(catalogue(factory), clean_run)
    assert (count(factory, Track), tracks_with_features(factory), count(factory, TrackGenre)) == (FILES, FILES, FILES)
