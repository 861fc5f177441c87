"""Track-level features over decoded audio: pure functions of arrays."""

from __future__ import annotations

import librosa
import numpy as np

MFCC_STATS_NAME = "mfcc_stats"
MFCC_STATS_VERSION = "1"
N_MFCC = 20


def mfcc_statistics(*, mfcc: np.ndarray) -> np.ndarray:
    """Mean and standard deviation over time of MFCC, delta and delta-delta.

    Order: [mean(mfcc), std(mfcc), mean(d1), std(d1), mean(d2), std(d2)], 6 * n_mfcc float32 values.
    """
    if mfcc.ndim != 2 or mfcc.shape[1] < 3:
        raise ValueError(f"mfcc must be (n_mfcc, frames>=3), got shape {mfcc.shape}")
    width = min(9, mfcc.shape[1] if mfcc.shape[1] % 2 else mfcc.shape[1] - 1)
    d1 = librosa.feature.delta(mfcc, width=width, order=1)
    d2 = librosa.feature.delta(mfcc, width=width, order=2)
    parts = [f(x, axis=1) for x in (mfcc, d1, d2) for f in (np.mean, np.std)]
    return np.concatenate(parts).astype(np.float32)


def mfcc_stats_vector(*, y: np.ndarray, sr: int, n_mfcc: int = N_MFCC) -> np.ndarray:
    """MFCC statistics of a mono signal (see ``mfcc_statistics``)."""
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc)
    return mfcc_statistics(mfcc=mfcc)
