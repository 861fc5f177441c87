"""Segments: pooled MusiCNN features of consecutive runs of patches, stored at ingest and computed for older tracks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from soundalike.embed.ingest_consumer import MusicnnIngestConsumer
from soundalike.embed.musicnn_encoder import POOLED_FEATURE, SEGMENTS, SEGMENTS_FEATURE, MusicnnEncoder
from soundalike.embed.musicnn_frontend import SAMPLE_RATE, musicnn_patches
from soundalike.embed.patch_embeddings import patch_embeddings, segment_means
from soundalike.embed.segments import complete_segments, segment_scoring
from soundalike.ingest.audio import load
from soundalike.ingest.db.models import Feature, Track
from soundalike.ingest.errors import ConfigError
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.repository import feature_vectors
from soundalike.ingest.settings import Settings, load_settings

from support.audio_factory import make_track

CPU = torch.device("cpu")
WIDTH = 1506
SECONDS = {"one.wav": 4.0, "three.flac": 9.5, "six.ogg": 19.0}
"""Tracks of 1, 3 and 6 MusiCNN patches."""


@pytest.fixture(scope="module")
def encoder() -> MusicnnEncoder:
    return MusicnnEncoder(CPU)


@pytest.fixture
def ingested(
    tmp_path: Path, settings: Settings, factory: sessionmaker[Session], encoder: MusicnnEncoder
) -> dict[str, int]:
    """Three tracks ingested with the MusiCNN consumer: file name -> track id."""
    root = tmp_path / "music"
    root.mkdir()
    for n, (name, seconds) in enumerate(SECONDS.items()):
        make_track(root / name, "beat", seed=n, seconds=seconds)
    ingest(factory, [root], IngestOptions(settings=settings, device=CPU, consumer=MusicnnIngestConsumer(encoder)))
    with factory() as session:
        return {Path(p).name: int(t) for t, p in session.execute(select(Track.id, Track.path))}


def stored_segments(factory: sessionmaker[Session], ids: dict[str, int]) -> dict[str, np.ndarray]:
    with factory() as session:
        found = feature_vectors(session, SEGMENTS_FEATURE, ids.values())
    return {name: found[t].reshape(-1, WIDTH) for name, t in ids.items() if t in found}


def test_segment_means_pool_consecutive_runs_and_never_more_runs_than_patches() -> None:
    per_patch = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.testing.assert_array_equal(segment_means(per_patch, 3), [[1, 2], [5, 6], [9, 10]])
    assert segment_means(per_patch[:2], 3).shape == (2, 2)


@pytest.mark.slow
def test_ingest_stores_each_tracks_segments_with_one_row_per_run_of_patches(
    ingested: dict[str, int], factory: sessionmaker[Session], encoder: MusicnnEncoder, tmp_path: Path
) -> None:
    segments = stored_segments(factory, ingested)
    assert {name: s.shape for name, s in segments.items()} == {
        "one.wav": (1, WIDTH),
        "three.flac": (3, WIDTH),
        "six.ogg": (SEGMENTS, WIDTH),
    }
    path = tmp_path / "music" / "six.ogg"
    per_patch = patch_embeddings(encoder.model, musicnn_patches(y=load(path, sr=SAMPLE_RATE).samples), pooled=True)
    assert len(per_patch) == 6
    np.testing.assert_allclose(segments["six.ogg"], per_patch.reshape(3, 2, WIDTH).mean(axis=1), rtol=1e-4, atol=1e-5)
    with factory() as session:
        pooled = feature_vectors(session, POOLED_FEATURE, [ingested["six.ogg"]])[ingested["six.ogg"]]
    np.testing.assert_allclose(segments["six.ogg"].mean(axis=0), pooled, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_tracks_ingested_without_segments_get_them_from_their_audio(
    ingested: dict[str, int], factory: sessionmaker[Session], encoder: MusicnnEncoder
) -> None:
    before = stored_segments(factory, ingested)
    with factory() as session, session.begin():
        session.execute(delete(Feature).where(Feature.name == SEGMENTS_FEATURE))
    assert stored_segments(factory, ingested) == {}
    with factory() as session, session.begin():
        assert complete_segments(session, encoder, max_bytes=None) == len(SECONDS)
        assert complete_segments(session, encoder, max_bytes=None) == 0
    after = stored_segments(factory, ingested)
    assert after.keys() == before.keys()
    for name, matrix in before.items():
        np.testing.assert_allclose(after[name], matrix, rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("value", ["-0.1", "1.5", "nan", "half"])
def test_a_segment_weight_outside_zero_to_one_is_a_config_error_naming_it(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUNDALIKE_SEGMENT_WEIGHT", value)
    with pytest.raises(ConfigError, match=f"SOUNDALIKE_SEGMENT_WEIGHT is '{value}'"):
        load_settings(tmp_path)


def test_segment_weight_zero_is_off_and_needs_no_fitted_fusion(tmp_path: Path) -> None:
    assert Settings(home=tmp_path).segment_weight == 0.0
    assert segment_scoring(Settings(home=tmp_path)) is None


def test_segments_need_the_fusion_model_with_a_musicnn_block(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs the fusion embedding model with a musicnn block.*'mfcc-stats'"):
        segment_scoring(Settings(home=tmp_path, segment_weight=0.5, embedding_model="mfcc-stats"))
    with pytest.raises(ConfigError, match="blocks 'mfcc:1'"):
        segment_scoring(Settings(home=tmp_path, segment_weight=0.5, fusion_blocks="mfcc:1"))
