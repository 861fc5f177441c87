"""The torch MusiCNN reproduces the original TensorFlow graph of musicnn 0.1.0.

tests/data/musicnn_reference.npz holds log-mel patches and the outputs the original graph gave for them
(written by scripts/convert_musicnn.py), so these tests need no TensorFlow.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from soundalike.embed.musicnn import CHECKPOINT_TAGS, MSD_TAGS, load_musicnn
from soundalike.embed.musicnn_frontend import N_MELS, PATCH_FRAMES, musicnn_logmel, patches

REFERENCE = Path(__file__).resolve().parent.parent / "data" / "musicnn_reference.npz"
TAGS_ATOL = 1e-4
EMBEDDING_RTOL = 1e-4
EMBEDDING_ATOL = 1e-4


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    with np.load(REFERENCE, allow_pickle=False) as data:
        return dict(data)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.mark.parametrize("name", sorted(CHECKPOINT_TAGS))
def test_port_matches_original_tensorflow_graph(name: str, reference: dict[str, np.ndarray]) -> None:
    model = load_musicnn(name)
    with torch.inference_mode():
        out = model(torch.from_numpy(reference["input"]))
    pooled = out.pooled.numpy()

    np.testing.assert_allclose(out.tags.numpy(), reference[f"{name}.tags"], rtol=0, atol=TAGS_ATOL)
    np.testing.assert_allclose(
        out.penultimate.numpy(), reference[f"{name}.penultimate"], rtol=EMBEDDING_RTOL, atol=EMBEDDING_ATOL
    )
    np.testing.assert_allclose(pooled[:, 0::2], reference[f"{name}.max_pool"], rtol=EMBEDDING_RTOL, atol=EMBEDDING_ATOL)
    np.testing.assert_allclose(
        pooled[:, 1::2], reference[f"{name}.mean_pool"], rtol=EMBEDDING_RTOL, atol=EMBEDDING_ATOL
    )


def test_outputs_have_documented_shapes(reference: dict[str, np.ndarray]) -> None:
    model = load_musicnn()
    with torch.inference_mode():
        out = model(torch.from_numpy(reference["input"][:2]))
    assert out.tags.shape == (2, len(MSD_TAGS)) == (2, 50)
    assert out.penultimate.shape == (2, 200)
    assert out.pooled.shape == (2, 1506)


def test_unknown_checkpoint_is_refused() -> None:
    with pytest.raises(ValueError, match="MSD_vgg"):
        load_musicnn("MSD_vgg")


def test_musicnn_logmel_of_seeded_signal_is_finite_with_96_bands(rng: np.random.Generator) -> None:
    n = 2 * 16000
    t = np.arange(n) / 16000
    y = np.sign(np.sin(2 * np.pi * 110 * t)) + 0.1 * rng.standard_normal(n)
    y = (y / np.abs(y).max()).astype(np.float32)

    logmel = musicnn_logmel(y=y)

    assert logmel.shape == (1 + n // 256, N_MELS)
    assert logmel.dtype == np.float32
    assert np.isfinite(logmel).all()
    assert (logmel >= 0).all()


def test_patches_are_non_overlapping_and_drop_the_ragged_tail(rng: np.random.Generator) -> None:
    logmel = rng.standard_normal((2 * PATCH_FRAMES + 50, N_MELS)).astype(np.float32)

    cut = patches(logmel)

    assert cut.shape == (2, PATCH_FRAMES, N_MELS)
    np.testing.assert_array_equal(cut[0], logmel[:PATCH_FRAMES])
    np.testing.assert_array_equal(cut[1], logmel[PATCH_FRAMES : 2 * PATCH_FRAMES])
    assert patches(logmel[: PATCH_FRAMES - 1]).shape == (0, PATCH_FRAMES, N_MELS)
