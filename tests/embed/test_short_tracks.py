"""A track shorter than one 3 s patch is looped to fill it: embedded by every model, indexed, found, noted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy import select

from soundalike.embed.cnn import build_network
from soundalike.embed.musicnn_encoder import MusicnnEncoder
from soundalike.embed.musicnn_frontend import LOOPED_NOTE, PATCH_SAMPLES, fill_one_patch, musicnn_patches
from soundalike.embed.trained_cnn import crop_embeddings, track_vector
from soundalike.embed.training import tiled_crops
from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import open_database
from soundalike.ingest.settings import Settings

from support.audio_factory import STYLES, make_track, write_audio
from support.cli_runner import run_cli

SR = 22050


def write_excerpt(path: Path, style: str, seed: int, seconds: float) -> Path:
    """The first ``seconds`` of the 8 s track ``make_track`` writes for (style, seed)."""
    return write_audio(path, STYLES[style](seed, 8.0, SR)[: int(seconds * SR)], SR)


def test_short_audio_is_looped_to_one_patch_not_padded_with_silence() -> None:
    y = np.random.default_rng(0).standard_normal(24000).astype(np.float32)
    filled = fill_one_patch(y)
    assert len(filled) == PATCH_SAMPLES
    np.testing.assert_array_equal(filled[24000:48000], y[: PATCH_SAMPLES - 24000])
    assert len(musicnn_patches(y=y[:16000])) == 1
    assert fill_one_patch(filled) is filled


def test_a_short_logmel_is_repeated_to_fill_one_crop() -> None:
    logmel = np.random.default_rng(1).standard_normal((50, 96)).astype(np.float32)
    crops = tiled_crops(logmel, 128)
    assert crops.shape == (1, 128, 96)
    np.testing.assert_array_equal(crops[0, 50:100], logmel)
    vector = track_vector(crop_embeddings(build_network("small-cnn", 3).eval(), logmel, 128))
    assert np.isfinite(vector).all() and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_musicnn_embeds_a_short_excerpt_nearer_its_own_track_than_another_style(tmp_path: Path) -> None:
    encoder = MusicnnEncoder(torch.device("cpu"))
    own = encoder.encode_file(make_track(tmp_path / "beat.wav", "beat", seed=5)).embedding
    other = encoder.encode_file(make_track(tmp_path / "drone.wav", "drone", seed=6)).embedding
    short = encoder.encode_file(write_excerpt(tmp_path / "short.wav", "beat", 5, 1.5)).embedding
    assert np.linalg.norm(short) == pytest.approx(1.0, abs=1e-5)
    assert float(short @ own) > float(short @ other)


@pytest.mark.parametrize("model", ["musicnn-msd", "mfcc-stats"])
def test_a_short_track_is_ingested_embedded_indexed_found_and_noted(tmp_path: Path, db_url: str, model: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    settings = Settings(home=home, database_url=db_url, embedding_model=model)
    music = tmp_path / "music"
    for seed in range(3):
        make_track(music / f"beat_{seed}.wav", "beat", seed=seed)
        make_track(music / f"drone_{seed}.flac", "drone", seed=10 + seed)
    write_excerpt(music / "short_beat.wav", "beat", 0, 1.5)
    assert run_cli(settings, "ingest", str(music), "--workers", "1")["failed"] == 0
    assert run_cli(settings, "index", "build")["count"] == 7
    with open_database(settings.db_url)() as session:
        short = session.scalars(select(Track).where(Track.path.endswith("short_beat.wav"))).one()
        first_beat = session.scalars(select(Track.id).where(Track.path.endswith("beat_0.wav"))).one()
    assert short.duration == pytest.approx(1.5, abs=0.01)
    found = run_cli(settings, "similar", str(short.id), "-k", "3")["results"]
    assert len(found) == 3
    neighbours = run_cli(settings, "similar", str(first_beat), "-k", "6")["results"]
    assert short.id in [r["track_id"] for r in neighbours]
    if model == "musicnn-msd":
        assert short.note == LOOPED_NOTE
        assert Path(found[0]["path"]).name.startswith("beat")
    else:
        assert short.note is None
