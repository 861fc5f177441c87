"""Tempo and key of a track: pure functions over an onset envelope and a chromagram.

Tempo: librosa's tempo estimate (autocorrelation weighted by a log-normal prior around 120 BPM) over
one autocorrelation of the whole onset-strength envelope, rather than a frame-by-frame tempogram
averaged afterwards: the same global estimate at a tenth of the cost.
Key: Krumhansl-Schmuckler -- the track's mean chroma correlated with the Krumhansl-Kessler major
and minor profiles in all twelve rotations; the best of the 24 names the key ("A minor").
The same chromagram and onset envelope also give the statistics stored for similarity: mean and
standard deviation of each chroma bin (harmony), and log2 tempo with the onset envelope's mean and
standard deviation (rhythm).
"""

from __future__ import annotations

import librosa
import numpy as np

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
AC_SECONDS = 8.0
NEUTRAL_BPM = 120.0


def estimate_tempo(*, onset_envelope: np.ndarray, sr: int, hop_length: int) -> float | None:
    """Tempo in BPM from an onset-strength envelope; None when the envelope is flat (no pulse)."""
    envelope = np.asarray(onset_envelope, dtype=np.float64)
    if envelope.ndim != 1:
        raise ValueError(f"onset_envelope must be 1-D, got shape {envelope.shape}")
    if envelope.size < 2 or not np.any(envelope > 0):
        return None
    window = min(envelope.size, int(librosa.time_to_frames(AC_SECONDS, sr=sr, hop_length=hop_length)))
    autocorrelation = librosa.autocorrelate(envelope, max_size=window)
    peak = np.max(np.abs(autocorrelation))
    if peak == 0:
        return None
    tempogram = (autocorrelation / peak)[:, np.newaxis]
    tempo = librosa.feature.tempo(tg=tempogram, sr=sr, hop_length=hop_length, aggregate=None)
    return round(float(np.atleast_1d(tempo)[0]), 2)


def key_scores(*, chroma: np.ndarray) -> np.ndarray:
    """(2, 12) Pearson correlations of the mean chroma with the major (row 0) and minor (row 1) profiles.

    Column ``k`` is the key whose tonic is pitch class ``k`` (C = 0). ``chroma`` is (12, frames).
    """
    data = np.asarray(chroma, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] != 12:
        raise ValueError(f"chroma must have shape (12, frames), got {data.shape}")
    profile = data.mean(axis=1)
    scores = np.zeros((2, 12))
    if np.ptp(profile) == 0:
        return scores
    for row, template in enumerate((MAJOR_PROFILE, MINOR_PROFILE)):
        for tonic in range(12):
            scores[row, tonic] = np.corrcoef(profile, np.roll(template, tonic))[0, 1]
    return scores


def estimate_key(*, chroma: np.ndarray) -> str | None:
    """Key name such as ``"A minor"`` or ``"F# major"``; None when the chroma carries no pitch."""
    scores = key_scores(chroma=chroma)
    if not np.any(scores):
        return None
    mode, tonic = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return f"{PITCH_CLASSES[tonic]} {('major', 'minor')[mode]}"


def chroma_statistics(*, chroma: np.ndarray) -> np.ndarray:
    """(24,) float32: the mean of each of the 12 chroma bins over frames, then their standard deviations."""
    data = np.asarray(chroma, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] != 12:
        raise ValueError(f"chroma must have shape (12, frames), got {data.shape}")
    if data.shape[1] == 0:
        return np.zeros(24, dtype=np.float32)
    return np.concatenate([data.mean(axis=1), data.std(axis=1)]).astype(np.float32)


def rhythm_statistics(*, onset_envelope: np.ndarray, tempo: float | None) -> np.ndarray:
    """(3,) float32: log2 of the tempo in BPM (``NEUTRAL_BPM`` when there is none), and the onset envelope's
    mean and standard deviation. On a log2 scale a tempo and its double lie one apart, whatever the tempo."""
    envelope = np.asarray(onset_envelope, dtype=np.float64)
    if envelope.ndim != 1:
        raise ValueError(f"onset_envelope must be 1-D, got shape {envelope.shape}")
    spread = (float(envelope.mean()), float(envelope.std())) if envelope.size else (0.0, 0.0)
    return np.array([np.log2(tempo or NEUTRAL_BPM), *spread], dtype=np.float32)
