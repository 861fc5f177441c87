"""The batched torch track features against librosa's ``track_features``, and the stage that batches analyses.

Real encoded files from the ``library`` fixture (wav, flac, ogg, mp3), decoded at several rates and cut
to different lengths so a batch mixes lengths and needs padding. MFCC statistics are compared per block
(MFCC, delta, delta-delta) relative to that block's peak, at 1e-4; tempo and key must agree, and the chroma
and rhythm statistics match to 1e-3.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from soundalike.ingest.analysis import FileAnalysis
from soundalike.ingest.audio import load
from soundalike.ingest.batched_analyses import with_batched_features
from soundalike.ingest.errors import ConfigError
from soundalike.ingest.torch_features import TorchTrackFeatures, length_batches, track_feature_batcher
from soundalike.ingest.track_features import TrackFeatures, track_features

RTOL = 1e-4
HAS_CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
DEVICES = [torch.device("cpu"), pytest.param(torch.device("cuda"), marks=(pytest.mark.gpu, needs_cuda))]


def assert_same_features(got: TrackFeatures, want: TrackFeatures) -> None:
    blocks = len(want.mfcc_stats) // 40
    for block in range(blocks):
        part = slice(block * 40, (block + 1) * 40)
        assert np.max(np.abs(got.mfcc_stats[part] - want.mfcc_stats[part])) <= RTOL * np.max(
            np.abs(want.mfcc_stats[part])
        )
    assert got.tempo == pytest.approx(want.tempo, rel=1e-3)
    assert got.key == want.key
    np.testing.assert_allclose(got.chroma_stats, want.chroma_stats, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(got.rhythm_stats, want.rhythm_stats, rtol=1e-3, atol=1e-3)


def decoded(library: Path, sr: int) -> list[np.ndarray]:
    """Every library track at ``sr``, each cut a different amount shorter so no two lengths match."""
    paths = sorted(p for p in library.rglob("*") if p.is_file() and p.name != "notes.mp3")
    return [load(p, sr=sr).samples[: -(1 + 997 * n)] for n, p in enumerate(paths)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sr", [16000, 22050, 44100])
def test_batched_track_features_match_librosa_per_track(library: Path, device: torch.device, sr: int) -> None:
    signals = decoded(library, sr)
    budget = 3 * max(len(y) for y in signals)  # several batches, each padding tracks of different lengths
    got = TorchTrackFeatures(device, max_batch_samples=budget)(signals, sr=sr)
    assert len(got) == len(signals)
    for mine, y in zip(got, signals, strict=True):
        assert_same_features(mine, track_features(y=y, sr=sr))


def test_a_track_padded_beside_a_longer_one_keeps_its_own_features(library: Path) -> None:
    short, long = decoded(library, 22050)[:2]
    short = short[: len(short) // 2]
    alone = TorchTrackFeatures(torch.device("cpu"))([short], sr=22050)[0]
    beside = TorchTrackFeatures(torch.device("cpu"))([long, short], sr=22050)[1]
    np.testing.assert_allclose(beside.mfcc_stats, alone.mfcc_stats, rtol=1e-5, atol=1e-4)
    assert (beside.tempo, beside.key) == (alone.tempo, alone.key)


def test_length_batches_stay_within_the_sample_budget() -> None:
    lengths = [50, 10, 40, 30, 200, 20]
    batches = length_batches(lengths, max_samples=100)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert len(batch) == 1 or len(batch) * longest <= 100
    assert [4] in batches  # longer than the budget: alone


def test_feature_extractor_choice_keeps_librosa_on_cpu_and_torch_when_asked() -> None:
    cpu = torch.device("cpu")
    assert track_feature_batcher("auto", cpu) is None
    assert track_feature_batcher("librosa", cpu) is None
    assert isinstance(track_feature_batcher("torch", cpu), TorchTrackFeatures)
    with pytest.raises(ConfigError, match="gpu"):
        track_feature_batcher("gpu", cpu)  # type: ignore[arg-type]


@pytest.mark.gpu
@needs_cuda
def test_auto_feature_extractor_batches_on_cuda() -> None:
    batcher = track_feature_batcher("auto", torch.device("cuda"))
    assert isinstance(batcher, TorchTrackFeatures) and batcher.device.type == "cuda"


class CountingBatcher:
    """A real torch extractor that records how many signals each call received."""

    def __init__(self) -> None:
        self.inner = TorchTrackFeatures(torch.device("cpu"))
        self.calls: list[int] = []

    def __call__(self, signals: list[np.ndarray], *, sr: int) -> list[TrackFeatures]:
        self.calls.append(len(signals))
        return self.inner(signals, sr=sr)


def test_batched_analyses_keep_order_passes_failures_through_and_bounds_each_batch(library: Path) -> None:
    signals = decoded(library, 22050)
    analyses = [FileAnalysis(Path(f"{n}.wav"), 1, 0.0, samples=y) for n, y in enumerate(signals)]
    analyses.insert(3, FileAnalysis(Path("bad.wav"), 0, 0.0, error="empty file (0 bytes)"))
    batcher = CountingBatcher()
    out = list(with_batched_features(iter(analyses), batcher, sr=22050, max_files=5))
    assert [a.path for a in out] == [a.path for a in analyses]
    assert out[3].error == "empty file (0 bytes)" and out[3].features is None
    assert max(batcher.calls) <= 5 and sum(batcher.calls) == len(signals)
    for analysis, y in zip([a for a in out if a.error is None], signals, strict=True):
        assert analysis.samples is None
        assert analysis.features is not None
        assert_same_features(analysis.features, track_features(y=y, sr=22050))
