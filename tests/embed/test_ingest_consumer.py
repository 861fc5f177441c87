"""MusiCNN during ingestion: patches from the one decode, embeddings stored as refresh_embeddings would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from soundalike.embed.ingest_consumer import MusicnnIngestConsumer
from soundalike.embed.musicnn_encoder import (
    MODEL_NAME,
    MODEL_VERSION,
    POOLED_FEATURE,
    TAGS_FEATURE,
    MusicnnEncoder,
    refresh_embeddings,
)
from soundalike.embed.musicnn_frontend import (
    LOOPED_NOTE,
    MAX_PATCHES,
    SAMPLE_RATE,
    PatchFrontEnd,
    musicnn_logmel,
    musicnn_patches,
    patches,
    select_patches,
)
from soundalike.embed.store import load_embeddings, stale_tracks
from soundalike.ingest.analysis import analyse_file
from soundalike.ingest.audio import load
from soundalike.ingest.db.models import Feature, Track
from soundalike.ingest.errors import ConfigError
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.repository import feature_matrix
from soundalike.ingest.settings import Settings

from support.audio_factory import make_track

CPU = torch.device("cpu")

EMBEDDING_ATOL = 1e-5


@pytest.fixture(scope="module")
def encoder() -> MusicnnEncoder:
    return MusicnnEncoder(torch.device("cpu"))


@pytest.fixture(scope="module")
def long_track(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 150 s flac at 44.1 kHz: long enough for the segment policy and for more than 8 patches."""
    return make_track(tmp_path_factory.mktemp("long") / "long.flac", "beat", seed=7, seconds=150.0, sr=44100)


@pytest.mark.slow
def test_patches_from_analysis_equal_the_encoders_from_the_file(long_track: Path) -> None:
    """Exactly equal (tolerance 0): both resample the same decode to 16 kHz and cut the same patches.

    Against the reference front end (whole-signal log-mel, then patches chosen) they agree to 1e-3,
    the float16 rounding step of MusiCNN's pre-processing flipping a value at most.
    """
    analysis = analyse_file(long_track, sr=22050, max_bytes=None, front_end=PatchFrontEnd())
    assert analysis.error is None and analysis.patches is not None
    assert analysis.patches.shape == (MAX_PATCHES, 187, 96) and analysis.patches.dtype == np.float32
    y16 = load(long_track, sr=SAMPLE_RATE).samples
    reference = select_patches(patches(musicnn_logmel(y=y16)))
    np.testing.assert_allclose(analysis.patches, reference, rtol=0, atol=1e-3)
    np.testing.assert_array_equal(analysis.patches, musicnn_patches(y=y16))


@pytest.mark.slow
def test_analysis_without_a_front_end_carries_no_patches(long_track: Path) -> None:
    assert analyse_file(long_track, sr=22050, max_bytes=None).patches is None


@pytest.mark.slow
def test_consumer_stores_what_refresh_embeddings_would(
    library: Path, settings: Settings, factory: sessionmaker[Session], encoder: MusicnnEncoder
) -> None:
    """Ingest with the consumer, then the encoder finds nothing stale, and vectors match encode_file."""
    consumer = MusicnnIngestConsumer(encoder)
    report = ingest(factory, [library], IngestOptions(settings=settings, device=CPU, workers=2, consumer=consumer))
    assert report.added == 12 and consumer.encoded == 12
    with factory() as session:
        assert stale_tracks(session, MODEL_NAME, MODEL_VERSION) == []
        assert refresh_embeddings(session, encoder) == (0, MODEL_VERSION)
        ids, vectors, version = load_embeddings(session, MODEL_NAME)
        assert version == MODEL_VERSION and len(ids) == 12
        paths = {row.id: row.path for row in session.execute(select(Track.id, Track.path))}
        for name, dim in ((TAGS_FEATURE, 50), (POOLED_FEATURE, 1506)):
            rows = session.scalars(select(Feature).where(Feature.name == name)).all()
            assert {row.track_id for row in rows} == set(ids.tolist()), name
            assert {(row.version, row.dim) for row in rows} == {(MODEL_VERSION, dim)}, name
        pooled_ids, pooled = feature_matrix(session, POOLED_FEATURE)
    for track_id, vector in zip(ids[:3], vectors[:3], strict=True):
        expected = encoder.encode_file(Path(paths[int(track_id)]))
        np.testing.assert_allclose(vector, expected.embedding, atol=EMBEDDING_ATOL)
        stored_pooled = pooled[list(pooled_ids).index(track_id)]
        np.testing.assert_allclose(stored_pooled, expected.pooled, rtol=1e-4, atol=EMBEDDING_ATOL)


def test_consume_and_flush_batch_tracks_of_any_length(
    tmp_path: Path, session: Session, encoder: MusicnnEncoder
) -> None:
    """Tracks with 1 and 3 patches share a batch; a track under 3 s is looped to one patch, embedded and noted."""
    consumer = MusicnnIngestConsumer(encoder)
    lengths = {"one.wav": 4.0, "three.wav": 9.5, "short.wav": 2.0}
    expected: dict[int, np.ndarray] = {}
    tracks: dict[float, Track] = {}
    for name, seconds in lengths.items():
        path = make_track(tmp_path / name, "drone", seed=int(seconds), seconds=seconds)
        track = tracks[seconds] = Track(path=str(path), size=path.stat().st_size, mtime=0.0)
        session.add(track)
        session.flush()
        consumer.consume(session, track.id, analyse_file(path, sr=22050, max_bytes=None, front_end=PatchFrontEnd()))
        expected[track.id] = encoder.encode_file(path).embedding
    consumer.flush(session)
    assert (consumer.encoded, consumer.looped) == (3, 1)
    assert tracks[2.0].note == LOOPED_NOTE and tracks[4.0].note is None and tracks[9.5].note is None
    ids, vectors, _ = load_embeddings(session, MODEL_NAME)
    assert sorted(ids.tolist()) == sorted(expected)
    for track_id, vector in zip(ids, vectors, strict=True):
        np.testing.assert_allclose(vector, expected[int(track_id)], atol=EMBEDDING_ATOL)
    consumer.flush(session)
    assert consumer.encoded == 3


def test_consumer_refuses_an_analysis_without_patches(library: Path, session: Session, encoder: MusicnnEncoder) -> None:
    analysis = analyse_file(library / "drone" / "drone_00.wav", sr=22050, max_bytes=None)
    with pytest.raises(ConfigError, match="front_end"):
        MusicnnIngestConsumer(encoder).consume(session, 1, analysis)
