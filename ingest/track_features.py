"""The per-track feature set (MFCC, chroma and rhythm statistics, tempo, key) with its librosa and batched torch
implementations.

One power STFT per track feeds everything: mel -> log-mel (dB) -> MFCC statistics, the onset
envelope for tempo and rhythm statistics (from the same log-mel, as ``librosa.onset.onset_strength``
computes it) and the chromagram for the key and the chroma statistics. ``track_features`` is the librosa
implementation, run per file by the decoding workers; its MFCC equal ``librosa.feature.mfcc(y=y, sr=sr)``.
``TorchTrackFeatures`` is its device twin, many tracks per STFT in the ingesting process.
``track_feature_batcher`` chooses once.

Tracks of different lengths share a torch batch by zero-padding to the longest: with ``center=True``
and constant padding, frame t of a track only sees its own samples and the zeros past its end, so the
first ``1 + T // hop`` frames of the padded STFT are exactly that track's frames. From those frames:
log-mel (dB, floored 80 dB under the track's own peak) -> MFCC statistics; the onset envelope, as
``librosa.onset.onset_strength`` computes it over that log-mel; the chromagram, as
``librosa.feature.chroma_stft(tuning=0)``. A batch is bounded by its padded sample count, so device
memory stays bounded whatever the track lengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import librosa
import numpy as np
import torch

from soundalike.ingest.errors import ConfigError
from soundalike.ingest.musical import chroma_statistics, estimate_key, estimate_tempo, rhythm_statistics
from soundalike.ingest.settings import FeatureExtractor
from soundalike.ingest.spectral import SpectralExtractor, mfcc_statistics, power_to_db

MFCC_STATS_NAME = "mfcc_stats"
MFCC_STATS_VERSION = "1"
CHROMA_STATS_NAME = "chroma_stats"
RHYTHM_STATS_NAME = "rhythm_stats"
FEATURE_VERSIONS = {MFCC_STATS_NAME: MFCC_STATS_VERSION, CHROMA_STATS_NAME: "1", RHYTHM_STATS_NAME: "1"}
"""The stored feature vectors ingestion computes for every track, by name, with their versions."""
N_MFCC = 20
N_FFT = 2048
HOP_LENGTH = 512
MAX_BATCH_SAMPLES = 2**25  # about 25 min of audio at 22.05 kHz: ~0.3 GB of power spectrogram
ONSET_LAG = 1


@dataclass(frozen=True)
class TrackFeatures:
    """What ingestion computes from a track's samples."""

    mfcc_stats: np.ndarray
    tempo: float | None
    key: str | None
    chroma_stats: np.ndarray
    rhythm_stats: np.ndarray

    def vectors(self) -> dict[str, np.ndarray]:
        """The stored feature vectors, by the names of ``FEATURE_VERSIONS``."""
        return {
            MFCC_STATS_NAME: self.mfcc_stats,
            CHROMA_STATS_NAME: self.chroma_stats,
            RHYTHM_STATS_NAME: self.rhythm_stats,
        }


def _log_mel(power: np.ndarray, sr: int) -> np.ndarray:
    return librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr), top_db=80.0)


def _power_spectrogram(y: np.ndarray) -> np.ndarray:
    return np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH)) ** 2


def mfcc_stats_vector(*, y: np.ndarray, sr: int, n_mfcc: int = N_MFCC) -> np.ndarray:
    """MFCC statistics of a mono signal (see ``spectral.mfcc_statistics``), computed with librosa.

    librosa is the CPU path: on CPU it measured faster than the torch extractor
    (``TorchTrackFeatures``), which serves CUDA.
    """
    mfcc = librosa.feature.mfcc(S=_log_mel(_power_spectrogram(y), sr), n_mfcc=n_mfcc)
    return mfcc_statistics(mfcc=mfcc).astype(np.float32)


def _from_parts(*, mfcc: np.ndarray, onset: np.ndarray, chroma: np.ndarray, sr: int) -> TrackFeatures:
    tempo = estimate_tempo(onset_envelope=onset, sr=sr, hop_length=HOP_LENGTH)
    return TrackFeatures(
        mfcc_stats=mfcc_statistics(mfcc=mfcc).astype(np.float32),
        tempo=tempo,
        key=estimate_key(chroma=chroma),
        chroma_stats=chroma_statistics(chroma=chroma),
        rhythm_stats=rhythm_statistics(onset_envelope=onset, tempo=tempo),
    )


def track_features(*, y: np.ndarray, sr: int, n_mfcc: int = N_MFCC) -> TrackFeatures:
    """MFCC, chroma and rhythm statistics, tempo (BPM) and key of a mono signal, all from one STFT, with librosa."""
    power = _power_spectrogram(y)
    log_mel = _log_mel(power, sr)
    return _from_parts(
        mfcc=librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc),
        onset=librosa.onset.onset_strength(S=log_mel, sr=sr),
        chroma=librosa.feature.chroma_stft(S=power, sr=sr, tuning=0.0),
        sr=sr,
    )


class TrackFeatureBatcher(Protocol):
    """Computes ``TrackFeatures`` of many mono signals at one sample rate."""

    def __call__(self, signals: list[np.ndarray], *, sr: int) -> list[TrackFeatures]:
        """Features of each signal, in input order."""
        ...


def length_batches(lengths: list[int], max_samples: int) -> list[list[int]]:
    """Indices grouped shortest-first so that ``len(batch) * longest`` stays within ``max_samples``.

    A signal longer than ``max_samples`` gets a batch of its own.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    for index in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        if current and (len(current) + 1) * lengths[index] > max_samples:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def onset_envelope(log_mel: torch.Tensor) -> torch.Tensor:
    """``librosa.onset.onset_strength(S=log_mel)`` for a (bands, frames) log-mel: mean rise per frame."""
    rise = torch.clamp(log_mel[:, ONSET_LAG:] - log_mel[:, :-ONSET_LAG], min=0.0).mean(dim=0)
    shift = ONSET_LAG + N_FFT // (2 * HOP_LENGTH)
    return torch.nn.functional.pad(rise, (shift, 0))[: log_mel.shape[1]]


def normalised_chroma(raw: torch.Tensor) -> torch.Tensor:
    """Each frame of a (12, frames) chroma divided by its maximum, as ``librosa.util.normalize(norm=inf)``."""
    peak = raw.abs().amax(dim=0, keepdim=True)
    return raw / torch.where(peak < torch.finfo(raw.dtype).tiny, torch.ones_like(peak), peak)


class TorchTrackFeatures:
    """MFCC, chroma and rhythm statistics, tempo and key of many signals on one device, from one STFT per batch."""

    def __init__(self, device: torch.device, *, n_mfcc: int = N_MFCC, max_batch_samples: int = MAX_BATCH_SAMPLES):
        """Compute on ``device``, at most ``max_batch_samples`` padded samples per STFT."""
        self.device, self.n_mfcc, self.max_batch_samples = device, n_mfcc, max_batch_samples
        self._extractors: dict[int, tuple[SpectralExtractor, torch.Tensor]] = {}

    def _for_rate(self, sr: int) -> tuple[SpectralExtractor, torch.Tensor]:
        if sr not in self._extractors:
            extractor = SpectralExtractor(
                sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mfcc=self.n_mfcc, device=self.device
            )
            chroma = librosa.filters.chroma(sr=sr, n_fft=N_FFT, tuning=0.0, n_chroma=12)
            self._extractors[sr] = (extractor, torch.from_numpy(chroma.astype(np.float32)).to(self.device))
        return self._extractors[sr]

    def __call__(self, signals: list[np.ndarray], *, sr: int) -> list[TrackFeatures]:
        """Features of each mono signal, in input order."""
        extractor, chroma_basis = self._for_rate(sr)
        lengths = [len(y) for y in signals]
        results: list[TrackFeatures | None] = [None] * len(signals)
        for batch in length_batches(lengths, self.max_batch_samples):
            padded = np.zeros((len(batch), max(lengths[i] for i in batch)), dtype=np.float32)
            for row, i in enumerate(batch):
                padded[row, : lengths[i]] = signals[i]
            with torch.inference_mode():
                power = extractor.power_spectrogram(padded)
                mel = torch.matmul(extractor.mel_basis, power)
                chroma = torch.matmul(chroma_basis, power)
                for row, i in enumerate(batch):
                    frames = 1 + lengths[i] // HOP_LENGTH
                    results[i] = self._track(extractor, mel[row, :, :frames], chroma[row, :, :frames], sr)
        return [r for r in results if r is not None]

    def _track(self, extractor: SpectralExtractor, mel: torch.Tensor, chroma: torch.Tensor, sr: int) -> TrackFeatures:
        log_mel = power_to_db(mel)
        return _from_parts(
            mfcc=torch.matmul(extractor.dct_matrix, log_mel).cpu().numpy(),
            onset=onset_envelope(log_mel).cpu().numpy(),
            chroma=normalised_chroma(chroma).cpu().numpy(),
            sr=sr,
        )


def track_feature_batcher(choice: FeatureExtractor, device: torch.device) -> TrackFeatureBatcher | None:
    """The batched torch extractor on ``device``, or None where the decoding workers keep librosa.

    ``auto`` picks torch on CUDA and librosa on the CPU, where librosa measured faster
    (bench/RESULTS.md, "Features"); ``torch`` forces the batched extractor on any device.
    """
    if choice == "librosa":
        return None
    if choice == "torch" or (choice == "auto" and device.type == "cuda"):
        return TorchTrackFeatures(device)
    if choice == "auto":
        return None
    raise ConfigError(f"feature extractor {choice!r} is not one of auto, librosa, torch")
