"""The per-track feature set (MFCC, chroma and rhythm statistics, tempo, key) and its librosa implementation.

One power STFT per track feeds everything: mel -> log-mel (dB) -> MFCC statistics, the onset
envelope for tempo and rhythm statistics (from the same log-mel, as ``librosa.onset.onset_strength``
computes it) and the chromagram for the key and the chroma statistics. ``track_features`` is the librosa
implementation, run per file by the decoding workers; its MFCC equal ``librosa.feature.mfcc(y=y, sr=sr)``.
Its batched torch twin is ``torch_features.TorchTrackFeatures``. This module does not import torch: the
decoding workers import it, and they start before the ingesting process loads torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import librosa
import numpy as np

from soundalike.ingest.musical import chroma_statistics, estimate_key, estimate_tempo, rhythm_statistics

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
    """MFCC statistics of a mono signal (see ``mfcc_statistics``), computed with librosa.

    librosa is the CPU path: on CPU it measured faster than the torch extractor
    (``torch_features.TorchTrackFeatures``), which serves CUDA.
    """
    mfcc = librosa.feature.mfcc(S=_log_mel(_power_spectrogram(y), sr), n_mfcc=n_mfcc)
    return mfcc_statistics(mfcc=mfcc).astype(np.float32)


def from_parts(*, mfcc: np.ndarray, onset: np.ndarray, chroma: np.ndarray, sr: int) -> TrackFeatures:
    """The features of one track from its MFCC, onset envelope and chromagram (either implementation's)."""
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
    return from_parts(
        mfcc=librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc),
        onset=librosa.onset.onset_strength(S=log_mel, sr=sr),
        chroma=librosa.feature.chroma_stft(S=power, sr=sr, tuning=0.0),
        sr=sr,
    )


def mfcc_statistics(*, mfcc: np.ndarray) -> np.ndarray:
    """Summarise MFCC over time as one fixed-length vector per example.

    ``mfcc`` has shape ``(n_mfcc, frames)`` or ``(B, n_mfcc, frames)`` with at least 9 frames
    (the width of ``librosa.feature.delta``). The result has ``6 * n_mfcc`` values on its last
    axis, in this order: mean of MFCC, std of MFCC, mean of delta, std of delta, mean of
    delta-delta, std of delta-delta (each block ``n_mfcc`` long, coefficient order kept; std is
    the population std, ``ddof=0``).
    """
    data = np.asarray(mfcc)
    if data.ndim not in (2, 3):
        raise ValueError(f"mfcc must have shape (n_mfcc, frames) or (B, n_mfcc, frames), got {data.shape}")
    if not np.issubdtype(data.dtype, np.floating):
        raise ValueError(f"mfcc must hold floating-point values, got dtype {data.dtype}")
    width = 9
    if data.shape[-1] < width:
        raise ValueError(f"mfcc has {data.shape[-1]} frames; deltas need at least {width}")
    delta = librosa.feature.delta(data, width=width, order=1, axis=-1)
    delta2 = librosa.feature.delta(data, width=width, order=2, axis=-1)
    blocks: list[np.ndarray] = []
    for series in (data, delta, delta2):
        blocks.extend((series.mean(axis=-1), series.std(axis=-1)))
    return np.concatenate(blocks, axis=-1)


class TrackFeatureBatcher(Protocol):
    """Computes ``TrackFeatures`` of many mono signals at one sample rate."""

    def __call__(self, signals: list[np.ndarray], *, sr: int) -> list[TrackFeatures]:
        """Features of each signal, in input order."""
        ...
