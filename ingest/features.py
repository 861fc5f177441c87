"""Track-level features over decoded audio: pure functions of arrays."""

from __future__ import annotations

import librosa
import numpy as np

from soundalike.ingest.spectral import mfcc_statistics

MFCC_STATS_NAME = "mfcc_stats"
MFCC_STATS_VERSION = "1"
N_MFCC = 20


def mfcc_stats_vector(*, y: np.ndarray, sr: int, n_mfcc: int = N_MFCC) -> np.ndarray:
    """MFCC statistics of a mono signal (see ``spectral.mfcc_statistics``), computed with librosa.

    librosa is the CPU path: on CPU it measured faster than the torch extractor, which serves CUDA.
    """
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc)
    return mfcc_statistics(mfcc=mfcc).astype(np.float32)
