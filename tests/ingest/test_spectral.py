"""SpectralExtractor against librosa on decoded audio, on CPU and (when present) CUDA.

Metrics, all at 1e-4:
- mel power and MFCC: ``max |ours - librosa| / max |librosa|`` per example. Both are linear in their
  input's scale, so the error is judged against the feature's own magnitude.
- log-mel (dB): ``max |ours - librosa| / (max(librosa) - min(librosa))`` per example. dB values sit
  near zero or cross it, so dividing by the values themselves is meaningless; the span (80 dB once
  the ``top_db`` floor bites) is the natural scale, and 1e-4 of it is 0.008 dB.
The librosa reference runs in float64 on the same decoded samples, so it is the accurate answer
the float32 extractor is held to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from soundalike.ingest.device import resolve_device
from soundalike.ingest.errors import ConfigError
from soundalike.ingest.spectral import SpectralExtractor
from soundalike.ingest.track_features import mfcc_statistics

from support.audio_factory import write_audio

RTOL = 1e-4
HAS_CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")


def musical_signal(*, sr: int, n_samples: int, seed: int, gain: float = 0.8) -> np.ndarray:
    """Decaying harmonic tone, a noise burst over it, then a gap of digital silence."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / sr
    f0 = rng.uniform(110.0, 440.0)
    y = sum((0.5 / k) * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) for k in range(1, 9))
    y = y * np.exp(-1.5 * t)
    burst = slice(int(0.30 * n_samples), int(0.45 * n_samples))
    y[burst] += 0.3 * rng.standard_normal(burst.stop - burst.start)
    y[int(0.60 * n_samples) : int(0.75 * n_samples)] = 0.0
    return gain * y / np.max(np.abs(y))


def write_and_decode(path: Path, y: np.ndarray, sr: int) -> np.ndarray:
    """Encode ``y`` to ``path`` (format from the suffix) and decode it back as float32."""
    write_audio(path, y.astype(np.float32), sr)
    decoded, decoded_sr = sf.read(path, dtype="float32")
    assert decoded_sr == sr
    return decoded


def librosa_reference(y: np.ndarray, sr: int, **params: Any) -> dict[str, np.ndarray]:
    y64 = y.astype(np.float64)
    mel_params = {k: v for k, v in params.items() if k != "n_mfcc"}
    mel = librosa.feature.melspectrogram(y=y64, sr=sr, **mel_params)
    return {
        "mel": mel,
        "log_mel": librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0),
        "mfcc": librosa.feature.mfcc(y=y64, sr=sr, **params),
    }


def relative_to_peak(ours: torch.Tensor, ref: np.ndarray) -> float:
    return float(np.max(np.abs(ours.cpu().numpy() - ref)) / np.max(np.abs(ref)))


def relative_to_span(ours: torch.Tensor, ref: np.ndarray) -> float:
    return float(np.max(np.abs(ours.cpu().numpy() - ref)) / (ref.max() - ref.min()))


def assert_matches_librosa(ours: dict[str, torch.Tensor], ref: dict[str, np.ndarray]) -> None:
    assert ours["mel"].shape == ref["mel"].shape
    assert ours["log_mel"].shape == ref["log_mel"].shape
    assert ours["mfcc"].shape == ref["mfcc"].shape
    assert relative_to_peak(ours["mel"], ref["mel"]) <= RTOL
    assert relative_to_span(ours["log_mel"], ref["log_mel"]) <= RTOL
    assert relative_to_peak(ours["mfcc"], ref["mfcc"]) <= RTOL


def extract_all(extractor: SpectralExtractor, y: np.ndarray | torch.Tensor) -> dict[str, torch.Tensor]:
    features = extractor.features(y)
    return {"mel": extractor.melspectrogram(y), "log_mel": features.log_mel, "mfcc": features.mfcc}


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=(pytest.mark.gpu, needs_cuda))])
def device(request: pytest.FixtureRequest) -> torch.device:
    return resolve_device(request.param)


@pytest.mark.parametrize("sr", [16000, 22050, 44100])
@pytest.mark.parametrize("seconds, extra", [(0.5, 0), (3.0, 0), (3.0, 37)], ids=["0.5s", "3s", "3s+37"])
@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_single_decoded_clip_matches_librosa(
    tmp_path: Path, device: torch.device, sr: int, seconds: float, extra: int, suffix: str
) -> None:
    n_samples = int(seconds * sr) + extra
    clean = musical_signal(sr=sr, n_samples=n_samples, seed=sr + n_samples)
    y = write_and_decode(tmp_path / f"clip{suffix}", clean, sr)
    assert y.shape == (n_samples,)

    extractor = SpectralExtractor(sr=sr, device=device)
    ours = extract_all(extractor, y)

    assert all(value.device.type == device.type for value in ours.values())
    assert all(value.dtype == torch.float32 for value in ours.values())
    assert_matches_librosa(ours, librosa_reference(y, sr))


def test_batch_matches_librosa_per_example_and_floors_each_example_on_its_own_peak(
    tmp_path: Path, device: torch.device
) -> None:
    sr, n_samples = 22050, 2 * 22050 + 101
    gains = (0.9, 0.5, 0.009)  # the last clip is ~40 dB quieter than the first
    batch = np.stack(
        [
            write_and_decode(tmp_path / f"clip{i}.flac", musical_signal(sr=sr, n_samples=n_samples, seed=i, gain=g), sr)
            for i, g in enumerate(gains)
        ]
    )
    extractor = SpectralExtractor(sr=sr, device=device)
    ours = extract_all(extractor, torch.from_numpy(batch))

    assert ours["mfcc"].shape == (3, 20, 1 + n_samples // 512)
    for i, y in enumerate(batch):
        assert_matches_librosa({k: v[i] for k, v in ours.items()}, librosa_reference(y, sr))
        single = extractor.features(y)
        torch.testing.assert_close(ours["log_mel"][i], single.log_mel, rtol=0, atol=1e-3)
        torch.testing.assert_close(ours["mfcc"][i], single.mfcc, rtol=RTOL, atol=1e-3)


def test_non_default_parameters_match_librosa(tmp_path: Path, device: torch.device) -> None:
    sr = 16000
    params = {"n_fft": 1024, "hop_length": 256, "n_mels": 64, "n_mfcc": 13, "fmin": 50.0, "fmax": 7000.0}
    y = write_and_decode(tmp_path / "clip.wav", musical_signal(sr=sr, n_samples=sr + 1, seed=7), sr)

    extractor = SpectralExtractor(sr=sr, device=device, **params)

    assert_matches_librosa(extract_all(extractor, y), librosa_reference(y, sr, **params))


def test_log_mel_and_mfcc_methods_agree_with_features(device: torch.device) -> None:
    y = musical_signal(sr=22050, n_samples=22050, seed=3)
    extractor = SpectralExtractor(sr=22050, device=device)

    features = extractor.features(y)

    torch.testing.assert_close(extractor.log_mel(y), features.log_mel, rtol=0, atol=0)
    torch.testing.assert_close(extractor.mfcc(y), features.mfcc, rtol=0, atol=0)


@pytest.mark.gpu
@needs_cuda
def test_cuda_extractor_matches_cpu_extractor() -> None:
    sr = 22050
    batch = np.stack([musical_signal(sr=sr, n_samples=3 * sr + 5, seed=s) for s in range(4)])
    cpu = SpectralExtractor(sr=sr, device=torch.device("cpu")).features(batch)
    gpu = SpectralExtractor(sr=sr, device=torch.device("cuda")).features(batch)

    checks = ((gpu.log_mel, cpu.log_mel, relative_to_span), (gpu.mfcc, cpu.mfcc, relative_to_peak))
    for ours, ref, metric in checks:
        assert ours.device.type == "cuda"
        for i in range(len(batch)):
            assert metric(ours[i], ref[i].numpy()) <= RTOL


@pytest.mark.parametrize(
    "params",
    [
        {"sr": 0},
        {"sr": 22050.0},
        {"sr": 22050, "n_fft": -1},
        {"sr": 22050, "hop_length": 0},
        {"sr": 22050, "n_mfcc": 0},
        {"sr": 22050, "n_mels": 40, "n_mfcc": 41},
        {"sr": 22050, "fmin": -1.0},
        {"sr": 22050, "fmax": 12000.0},
        {"sr": 22050, "fmin": 5000.0, "fmax": 4000.0},
    ],
    ids=str,
)
def test_invalid_parameters_raise_config_error(params: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        SpectralExtractor(device=torch.device("cpu"), **params)


@pytest.mark.parametrize(
    "signal, message",
    [
        (np.zeros((2, 3, 100), dtype=np.float32), "shape"),
        (np.zeros(0, dtype=np.float32), "empty"),
        (np.zeros((0, 100), dtype=np.float32), "empty"),
        (np.zeros(100, dtype=np.int16), "dtype"),
        (np.array([0.0, np.nan, 0.0]), "NaN"),
        ([0.0, 0.1], "numpy"),
    ],
    ids=["3d", "empty", "empty-batch", "int16", "nan", "list"],
)
def test_invalid_signals_raise_value_error(signal: Any, message: str) -> None:
    extractor = SpectralExtractor(sr=22050, device=torch.device("cpu"))
    with pytest.raises(ValueError, match=message):
        extractor.features(signal)


def test_mfcc_statistics_are_mean_then_std_of_mfcc_delta_and_delta2() -> None:
    mfcc = np.random.default_rng(0).standard_normal((20, 50))
    delta = librosa.feature.delta(mfcc, width=9, order=1)
    delta2 = librosa.feature.delta(mfcc, width=9, order=2)

    stats = mfcc_statistics(mfcc=mfcc)

    expected = np.concatenate([mfcc.mean(1), mfcc.std(1), delta.mean(1), delta.std(1), delta2.mean(1), delta2.std(1)])
    assert stats.shape == (120,)
    np.testing.assert_allclose(stats, expected, rtol=1e-12, atol=1e-12)


def test_mfcc_statistics_of_a_batch_equal_per_example_statistics() -> None:
    batch = np.random.default_rng(1).standard_normal((3, 13, 30)).astype(np.float32)

    stats = mfcc_statistics(mfcc=batch)

    assert stats.shape == (3, 78)
    for i in range(3):
        np.testing.assert_allclose(stats[i], mfcc_statistics(mfcc=batch[i]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "mfcc, message",
    [
        (np.zeros((20, 8)), "frames"),
        (np.zeros(20), "shape"),
        (np.zeros((20, 50), dtype=np.int32), "dtype"),
    ],
    ids=["too-few-frames", "1d", "int"],
)
def test_mfcc_statistics_rejects_malformed_input(mfcc: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mfcc_statistics(mfcc=mfcc)
