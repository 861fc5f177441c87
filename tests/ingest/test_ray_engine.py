"""The Ray engine on a local two-CPU Ray: the same catalogue as the local engine, the same run record and lock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray
import torch
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from soundalike.embed.ingest_consumer import MusicnnIngestConsumer
from soundalike.embed.musicnn_encoder import MusicnnEncoder
from soundalike.ingest.db.models import Embedding, Feature, IngestRun, Track, TrackGenre
from soundalike.ingest.db.session import open_database
from soundalike.ingest.lock import IngestLockedError, ingest_lock
from soundalike.ingest.pipeline import IngestOptions, IngestReport, ingest
from soundalike.ingest.ray_engine import RayEngine
from soundalike.ingest.settings import Settings

from support.cli_runner import run_cli
from support.fault_corpus import LOCKED, make_fault_corpus

pytestmark = pytest.mark.slow
CPU = torch.device("cpu")
VECTOR_ATOL = 1e-5


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def encoder() -> MusicnnEncoder:
    return MusicnnEncoder(CPU)


@pytest.fixture(scope="module")
def folders(library: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Path]]:
    """The fault corpus and a copy of the generated music library."""
    root = tmp_path_factory.mktemp("ray-folders")
    faults = make_fault_corpus(library, root / "faults")
    music = root / "music"
    shutil.copytree(library, music)
    yield [faults, music]
    (faults / LOCKED).chmod(0o644)


def settings_for(root: Path, name: str) -> Settings:
    home = root / name
    home.mkdir()
    return Settings(home=home, database_url=f"sqlite:///{home / 'catalogue.db'}")


def catalogue(factory: sessionmaker[Session]) -> dict[str, Any]:
    """Everything an ingest writes, keyed by path, so two databases compare whatever their ids."""
    with factory() as session:
        tracks = {t.id: t for t in session.scalars(select(Track))}
        paths = {i: t.path for i, t in tracks.items()}
        rows = {
            t.path: (
                t.status,
                t.error,
                t.note,
                t.size,
                t.content_hash,
                t.duration,
                t.sample_rate,
                t.channels,
                (t.title, t.artist, t.album, t.year, t.bpm),
                (round(t.tempo, 3) if t.tempo is not None else None, t.key),
                paths.get(t.duplicate_of_id) if t.duplicate_of_id else None,
            )
            for t in tracks.values()
        }
        features = {
            (paths[f.track_id], f.name, f.version): np.frombuffer(f.vector, dtype=np.float32)
            for f in session.scalars(select(Feature))
        }
        embeddings = {
            (paths[e.track_id], e.model_name, e.model_version): np.frombuffer(e.vector, dtype=np.float32)
            for e in session.scalars(select(Embedding))
        }
        genres = sorted((paths[g.track_id], g.genre.name, g.source) for g in session.scalars(select(TrackGenre)))
        runs = [(r.status, r.added, r.failed, r.duplicates) for r in session.scalars(select(IngestRun))]
    return {"tracks": rows, "features": features, "embeddings": embeddings, "genres": genres, "runs": runs}


def assert_same_vectors(left: dict[Any, np.ndarray], right: dict[Any, np.ndarray]) -> None:
    assert left.keys() == right.keys()
    for key, vector in left.items():
        np.testing.assert_allclose(right[key], vector, rtol=0, atol=VECTOR_ATOL, err_msg=str(key))


@dataclass
class CountingEncoder:
    """The ingesting process's encoder, counting the tracks it is asked to encode there."""

    inner: MusicnnEncoder
    tracks: int = 0

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    @property
    def version(self) -> str:
        return self.inner.version

    @property
    def patch_limit(self) -> int:
        return self.inner.patch_limit

    def encode_patches(self, per_track: list[np.ndarray]) -> list[Any]:
        self.tracks += len(per_track)
        return self.inner.encode_patches(per_track)


def run(
    settings: Settings, folders: list[Path], encoder: MusicnnEncoder, **kwargs: Any
) -> tuple[IngestReport, int, int]:
    """An ingest with the MusiCNN consumer: its report, the files it reported and the tracks encoded here."""
    stored = 0
    here = CountingEncoder(encoder)

    def count(_analysis: object) -> None:
        nonlocal stored
        stored += 1

    factory = open_database(settings.db_url)
    consumer = MusicnnIngestConsumer(here)  # type: ignore[arg-type]
    report = ingest(
        factory, folders, IngestOptions(settings=settings, device=CPU, consumer=consumer, **kwargs), on_file=count
    )
    return report, stored, here.tracks


@dataclass
class Ingested:
    """One ingest of the folders: its settings, report, the files it reported, the tracks encoded in-process, and
    the catalogue it wrote, read right after it (a later test's rerun adds to the database, not to this)."""

    settings: Settings
    report: IngestReport
    seen: int
    encoded_here: int
    catalogue: dict[str, Any]


def ingested(settings: Settings, folders: list[Path], encoder: MusicnnEncoder, **kwargs: Any) -> Ingested:
    """``run`` and the catalogue it left."""
    report, seen, encoded_here = run(settings, folders, encoder, **kwargs)
    return Ingested(settings, report, seen, encoded_here, catalogue(open_database(settings.db_url)))


@pytest.fixture(scope="module")
def ingests(
    local_ray: None, folders: list[Path], encoder: MusicnnEncoder, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Ingested, Ingested]:
    """The folders ingested by the local engine and, into another database, by the Ray engine."""
    root = tmp_path_factory.mktemp("ray-homes")
    local_settings, ray_settings = settings_for(root, "local"), settings_for(root, "ray")
    local = ingested(local_settings, folders, encoder, workers=2)
    return local, ingested(ray_settings, folders, encoder, workers=2, engine=RayEngine())


def test_ray_engine_builds_the_catalogue_the_local_engine_builds(ingests: tuple[Ingested, Ingested]) -> None:
    """Tracks, failure records, duplicates, features, genres, embeddings and the run record all agree."""
    local_run, ray_run = ingests
    local, on_ray = local_run.report, ray_run.report
    assert local.failed >= 6 and local.duplicates >= 1 and local.added > 12
    strip = ("run_id", "seconds")
    assert {k: v for k, v in on_ray.as_dict().items() if k not in strip} == {
        k: v for k, v in local.as_dict().items() if k not in strip
    }
    assert ray_run.seen == local_run.seen == local.added + local.failed
    assert (local_run.encoded_here, ray_run.encoded_here) == (local.added, 0)  # Ray encoded in its actor pool
    expected, got = local_run.catalogue, ray_run.catalogue
    assert got["tracks"] == expected["tracks"]
    assert got["genres"] == expected["genres"]
    assert got["runs"] == expected["runs"] == [("finished", local.added, local.failed, local.duplicates)]
    assert_same_vectors(expected["features"], got["features"])
    assert_same_vectors(expected["embeddings"], got["embeddings"])
    assert len(expected["embeddings"]) == local.added


def test_ray_rerun_skips_every_file_and_a_held_lock_refuses_the_run(
    ingests: tuple[Ingested, Ingested], folders: list[Path], encoder: MusicnnEncoder
) -> None:
    _, ray_run = ingests
    first = ray_run.report
    again = run_cli(ray_run.settings, "ingest", *map(str, folders), "--engine", "ray")
    assert (again["added"], again["updated"], again["failed"]) == (0, 0, 0)
    assert again["skipped"] == first.added + first.failed
    factory = open_database(ray_run.settings.db_url)
    with ingest_lock(factory.kw["bind"]), pytest.raises(IngestLockedError):
        run(ray_run.settings, folders[:1], encoder, workers=2, engine=RayEngine())
