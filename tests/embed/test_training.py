"""Training a CNN from scratch on log-mels of three clearly different synthetic styles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from soundalike.embed.musicnn_frontend import SAMPLE_RATE, musicnn_logmel
from soundalike.embed.training import TrainConfig, augment, random_crops, tiled_crops, train_network
from soundalike.ingest.errors import PreconditionError

from support.audio_factory import beat, drone

SECONDS = 3.0


def sweep(seed: int, seconds: float, sr: int) -> np.ndarray:
    """A third style: rising sine glides in a mid register, each a second long."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    start = rng.uniform(300, 500)
    phase = 2 * np.pi * np.cumsum(start * (1 + (t % 1.0))) / sr
    return (0.3 * np.sin(phase) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def style_corpus(per_style: int) -> tuple[list[np.ndarray], list[str], list[str]]:
    logmels, labels, groups = [], [], []
    for name, make in (("drone", drone), ("beat", beat), ("sweep", sweep)):
        for i in range(per_style):
            logmels.append(musicnn_logmel(y=make(100 + i, SECONDS, SAMPLE_RATE)))
            labels.append(name)
            groups.append(f"{name}-album-{i // 2}")
    return logmels, labels, groups


@pytest.mark.slow
def test_small_cnn_learns_three_styles_well_above_chance_on_held_out_albums() -> None:
    logmels, labels, groups = style_corpus(8)
    config = TrainConfig(crop_frames=64, crops_per_track=3, epochs=6, patience=3, test_fraction=0.35)
    result = train_network(logmels, labels, groups, config)
    held_out_groups = {g for g, h in zip(groups, result.held_out, strict=True) if h}
    train_groups = {g for g, h in zip(groups, result.held_out, strict=True) if not h}
    assert held_out_groups and not held_out_groups & train_groups
    assert result.classes == ["beat", "drone", "sweep"]
    assert result.val_accuracy is not None and result.val_accuracy >= 0.8  # chance is 1/3
    assert 1 <= result.best_epoch <= len(result.history["val_loss"])
    assert result.history["val_loss"][result.best_epoch - 1] == min(result.history["val_loss"])


def test_augment_keeps_shapes_and_mixes_targets_into_a_distribution() -> None:
    generator = torch.Generator().manual_seed(0)
    batch = torch.rand(6, 32, 96) * 3
    targets = torch.nn.functional.one_hot(torch.arange(6) % 3, 3).float()
    out, soft = augment(batch, targets, TrainConfig(), generator)
    assert out.shape == batch.shape and torch.isfinite(out).all() and (out >= 0).all()
    assert torch.allclose(soft.sum(dim=1), torch.ones(6))
    assert not torch.equal(out, batch)


def test_crops_pad_short_tracks_and_tile_long_ones() -> None:
    rng = np.random.default_rng(0)
    short = np.ones((10, 96), dtype=np.float32)
    assert random_crops(short, 2, 16, rng).shape == (2, 16, 96)
    assert tiled_crops(np.ones((50, 96), dtype=np.float32), 16).shape == (3, 16, 96)


def test_training_needs_two_genres() -> None:
    logmels, _, groups = style_corpus(1)
    with pytest.raises(PreconditionError, match="2 genres"):
        train_network(logmels, ["a"] * 3, groups, TrainConfig(epochs=1))
