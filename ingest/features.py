"""Track-level features over decoded audio: pure functions of arrays.

One power STFT per track feeds everything: mel -> log-mel (dB) -> MFCC statistics, the onset
envelope for tempo (from the same log-mel, as ``librosa.onset.onset_strength`` computes it) and the
chromagram for the key. The MFCC equal ``librosa.feature.mfcc(y=y, sr=sr)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from soundalike.ingest.musical import estimate_key, estimate_tempo
from soundalike.ingest.spectral import mfcc_statistics

MFCC_STATS_NAME = "mfcc_stats"
MFCC_STATS_VERSION = "1"
N_MFCC = 20
N_FFT = 2048
HOP_LENGTH = 512


@dataclass(frozen=True)
class TrackFeatures:
    """What ingestion computes from a track's samples."""

    mfcc_stats: np.ndarray
    tempo: float | None
    key: str | None


def _log_mel(power: np.ndarray, sr: int) -> np.ndarray:
    return librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr), top_db=80.0)


def _power_spectrogram(y: np.ndarray) -> np.ndarray:
    return np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP_LENGTH)) ** 2


def mfcc_stats_vector(*, y: np.ndarray, sr: int, n_mfcc: int = N_MFCC) -> np.ndarray:
    """MFCC statistics of a mono signal (see ``spectral.mfcc_statistics``), computed with librosa.

    librosa is the CPU path: on CPU it measured faster than the torch extractor
    (``batched_features.TorchTrackFeatures``), which serves CUDA.
    """
    mfcc = librosa.feature.mfcc(S=_log_mel(_power_spectrogram(y), sr), n_mfcc=n_mfcc)
    return mfcc_statistics(mfcc=mfcc).astype(np.float32)


def track_features(*, y: np.ndarray, sr: int, n_mfcc: int = N_MFCC) -> TrackFeatures:
    """MFCC statistics, tempo (BPM) and key of a mono signal, all from one STFT."""
    power = _power_spectrogram(y)
    log_mel = _log_mel(power, sr)
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc)
    onset = librosa.onset.onset_strength(S=log_mel, sr=sr)
    chroma = librosa.feature.chroma_stft(S=power, sr=sr, tuning=0.0)
    return TrackFeatures(
        mfcc_stats=mfcc_statistics(mfcc=mfcc).astype(np.float32),
        tempo=estimate_tempo(onset_envelope=onset, sr=sr, hop_length=HOP_LENGTH),
        key=estimate_key(chroma=chroma),
    )
