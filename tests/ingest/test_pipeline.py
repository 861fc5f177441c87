from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from soundalike.ingest.analysis import FileAnalysis
from soundalike.ingest.db.models import Feature, Genre, IngestRun, Track, TrackGenre
from soundalike.ingest.db.session import open_database
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.repository import set_feature
from soundalike.ingest.settings import Settings
from soundalike.ingest.track_features import FEATURE_VERSIONS

CPU = torch.device("cpu")


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.both_engines
def test_ingest_stores_tracks_features_tags_and_records_failures(
    library: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    report = ingest(factory, [library], IngestOptions(settings=settings, device=CPU, workers=2))
    assert (report.added, report.updated, report.skipped, report.failed) == (12, 0, 0, 1)
    assert report.failures[0]["path"].endswith("notes.mp3")
    assert "cannot decode" in report.failures[0]["reason"]
    with factory() as session:
        assert count(session, Track) == 13
        assert count(session, Feature) == 12 * len(FEATURE_VERSIONS)
        stored = session.execute(select(Feature.name, Feature.version, Feature.dim).distinct()).all()
        assert sorted(stored) == [("chroma_stats", "1", 24), ("mfcc_stats", "1", 120), ("rhythm_stats", "1", 3)]
        failed = session.scalars(select(Track).where(Track.status == "failed")).one()
        assert failed.error and failed.path.endswith("notes.mp3")
        flac = session.scalars(select(Track).where(Track.path.like("%drone_02.flac"))).one()
        assert (flac.title, flac.artist, flac.album, flac.year) == ("drone 2", "drone artist", "Drone Album 2", 2024)
        assert flac.duration is not None and abs(flac.duration - 8.0) < 0.01
        genres = session.scalars(
            select(Genre.name).join(TrackGenre).where(TrackGenre.track_id == flac.id, TrackGenre.source == "tag")
        ).all()
        assert genres == ["drone"]
        run = session.get(IngestRun, report.run_id)
        assert run is not None and run.status == "finished" and run.added == 12 and run.failed == 1


def test_batched_torch_features_store_what_librosa_stores(
    library: Path, settings: Settings, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """The device path (features batched in torch, here on the CPU) gives the catalogue the CPU path gives."""
    torch_report = ingest(
        factory,
        [library],
        IngestOptions(settings=settings.model_copy(update={"feature_extractor": "torch"}), device=CPU, workers=2),
    )
    reference = Settings(
        home=tmp_path, database_url=f"sqlite:///{tmp_path / 'librosa.db'}", feature_extractor="librosa"
    )
    reference_factory = open_database(reference.db_url)
    librosa_report = ingest(reference_factory, [library], IngestOptions(settings=reference, device=CPU, workers=2))
    assert (torch_report.added, torch_report.failed) == (librosa_report.added, librosa_report.failed) == (12, 1)

    def stored(
        session_factory: sessionmaker[Session],
    ) -> dict[tuple[str, str], tuple[float | None, str | None, np.ndarray]]:
        with session_factory() as session:
            columns = (Track.path, Feature.name, Track.tempo, Track.key, Feature.vector)
            rows = session.execute(select(*columns).join(Feature)).all()
            return {(Path(p).name, f): (tempo, key, np.frombuffer(v, dtype=np.float32)) for p, f, tempo, key, v in rows}

    ours, theirs = stored(factory), stored(reference_factory)
    assert set(ours) == set(theirs) and len(ours) == 12 * len(FEATURE_VERSIONS)
    for name, (tempo, key, vector) in ours.items():
        assert tempo == pytest.approx(theirs[name][0], rel=1e-3) and key == theirs[name][1], name
        np.testing.assert_allclose(vector, theirs[name][2], rtol=1e-3, atol=1e-3)


@pytest.mark.both_engines
def test_reingest_of_unchanged_folder_adds_nothing(
    library: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    ingest(factory, [library], IngestOptions(settings=settings, device=CPU, workers=1))
    again = ingest(factory, [library], IngestOptions(settings=settings, device=CPU, workers=1))
    assert (again.added, again.updated, again.failed, again.skipped) == (0, 0, 0, 13)
    with factory() as session:
        assert count(session, Track) == 13
        assert count(session, Feature) == 12 * len(FEATURE_VERSIONS)
        assert count(session, TrackGenre) == 8  # the four wav files carry no tags


def test_another_spelling_of_the_same_folder_is_the_same_catalogue(
    library: Path, settings: Settings, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """``..`` in a named folder is spelled out, as a shell would: the folder named two ways is one set of tracks."""
    detour = tmp_path / "elsewhere"
    detour.mkdir()
    roundabout = detour / ".." / os.path.relpath(library, tmp_path)
    first = ingest(factory, [roundabout], IngestOptions(settings=settings, device=CPU, workers=1))
    again = ingest(factory, [library], IngestOptions(settings=settings, device=CPU, workers=1))
    assert first.added == 12
    assert (again.added, again.duplicates, again.skipped) == (0, 0, 13)
    with factory() as session:
        paths = session.scalars(select(Track.path)).all()
    assert len(paths) == 13 and all(path.startswith(str(library) + os.sep) for path in paths)


@pytest.mark.both_engines
def test_changed_file_is_updated_in_place(
    library: Path, tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    folder = tmp_path / "lib"
    shutil.copytree(library / "drone", folder)
    ingest(factory, [folder], IngestOptions(settings=settings, device=CPU, workers=1))
    target = folder / "drone_00.wav"
    with factory() as session:
        before = session.scalars(select(Track).where(Track.path == str(target))).one()
        old_id, old_hash = before.id, before.content_hash
    shutil.copy(library / "beat" / "beat_01.wav", target)
    os.utime(target, (1_700_000_000, 1_700_000_000))
    report = ingest(factory, [folder], IngestOptions(settings=settings, device=CPU, workers=1))
    assert (report.added, report.updated) == (0, 1)
    with factory() as session:
        after = session.scalars(select(Track).where(Track.path == str(target))).one()
        assert after.id == old_id and after.content_hash != old_hash


@pytest.mark.both_engines
def test_ingest_records_each_bad_file_and_goes_on(
    library: Path, tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    shutil.copy(library / "drone" / "drone_00.wav", folder / "good.wav")
    (folder / "empty.flac").write_bytes(b"")
    (folder / "truncated.wav").write_bytes((library / "drone" / "drone_00.wav").read_bytes()[:30])
    (folder / "folder.mp3").mkdir()
    report = ingest(factory, [folder], IngestOptions(settings=settings, device=CPU, workers=1))
    reasons = {Path(f["path"]).name: f["reason"] for f in report.failures}
    assert report.added == 1
    assert reasons["empty.flac"] == "empty file (0 bytes)"
    assert reasons["folder.mp3"] == "is a directory"
    assert "cannot decode" in reasons["truncated.wav"] or "too short" in reasons["truncated.wav"]


@dataclass(frozen=True)
class SecondsFrontEnd:
    """One (sample_rate, 1) block per whole second of the audio, as a later stage's front end cuts patches."""

    sample_rate: int = 8000

    def __call__(self, *, y: np.ndarray) -> np.ndarray:
        seconds = len(y) // self.sample_rate
        return y[: seconds * self.sample_rate].reshape(seconds, self.sample_rate, 1)


class RecordingConsumer:
    """Writes a probe feature per consumed track, buffered until ``flush`` like a batched encoder."""

    front_end = SecondsFrontEnd()
    make_encoder = None

    def __init__(self) -> None:
        self.buffer: list[tuple[int, int]] = []
        self.consumed: list[str] = []
        self.flushes = 0

    def consume(self, session: Session, track_id: int, analysis: FileAnalysis) -> None:
        assert session.get(Track, track_id) is not None and analysis.error is None
        assert analysis.patches is not None and analysis.patches.shape[1:] == (8000, 1)
        self.buffer.append((track_id, int(analysis.patches.shape[0])))
        self.consumed.append(analysis.path.name)

    def flush(self, session: Session) -> None:
        self.flushes += 1
        for track_id, patches in self.buffer:
            set_feature(session, track_id, "probe", "1", np.array([patches], dtype=np.float32))
        self.buffer.clear()


def test_consumer_sees_each_stored_track_and_flushes_before_every_commit(
    library: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    consumer = RecordingConsumer()
    settings = settings.model_copy(update={"ingest_batch_size": 5})
    report = ingest(factory, [library], IngestOptions(settings=settings, device=CPU, workers=2, consumer=consumer))
    assert sorted(consumer.consumed) == sorted(p.name for p in library.rglob("*_*.*"))
    assert "notes.mp3" not in consumer.consumed
    assert consumer.flushes == 13 // 5 + 1 and consumer.buffer == []
    assert report.added == 12
    with factory() as session:
        probes = session.scalars(select(Feature).where(Feature.name == "probe")).all()
        assert len(probes) == 12 and all(p.dim == 1 for p in probes)
