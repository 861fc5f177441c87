"""Tempo and key estimates on synthetic audio whose tempo and key are known by construction."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest

from soundalike.ingest.analysis import analyse_file
from soundalike.ingest.musical import (
    NEUTRAL_BPM,
    chroma_statistics,
    estimate_key,
    estimate_tempo,
    key_scores,
    rhythm_statistics,
)
from soundalike.ingest.track_features import track_features

from support.audio_factory import write_audio

SR = 22050
TEMPO_RTOL = 0.03
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11, 12)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10, 12)


def click_track(bpm: float, seconds: float = 30.0) -> np.ndarray:
    return librosa.clicks(times=np.arange(0.0, seconds, 60.0 / bpm), sr=SR, length=int(seconds * SR)).astype(np.float32)


def notes(midi: list[int], seconds: float) -> np.ndarray:
    """Harmonic tones of the given MIDI notes sounding together, with a soft decay."""
    t = np.arange(int(seconds * SR)) / SR
    y = sum((0.6 / k) * np.sin(2 * np.pi * k * librosa.midi_to_hz(n) * t) for n in midi for k in (1, 2, 3))
    return (y * np.exp(-0.5 * t) / len(midi)).astype(np.float32)


def scale_then_triad(tonic: int, minor: bool) -> np.ndarray:
    """The scale up, one note a half second, then the tonic triad held for 3 s."""
    steps = MINOR_STEPS if minor else MAJOR_STEPS
    third = 3 if minor else 4
    pieces = [notes([tonic + s], 0.5) for s in steps] + [notes([tonic, tonic + third, tonic + 7], 3.0)]
    return np.concatenate(pieces)


@pytest.mark.parametrize("bpm", [75.0, 100.0, 128.0, 150.0])
def test_tempo_of_a_click_track_is_its_bpm(bpm: float) -> None:
    assert track_features(y=click_track(bpm), sr=SR).tempo == pytest.approx(bpm, rel=TEMPO_RTOL)


def test_tempo_of_silence_is_unknown() -> None:
    assert estimate_tempo(onset_envelope=np.zeros(500), sr=SR, hop_length=512) is None


@pytest.mark.parametrize(
    ("tonic", "minor", "name"),
    [
        (60, False, "C major"),
        (57, True, "A minor"),
        (66, False, "F# major"),
        (62, True, "D minor"),
        (55, False, "G major"),
    ],
)
def test_key_of_a_scale_and_its_triad(tonic: int, minor: bool, name: str) -> None:
    assert track_features(y=scale_then_triad(tonic, minor), sr=SR).key == name


def test_key_scores_peak_at_the_profile_itself() -> None:
    """A chroma equal to the E minor profile scores 1.0 for E minor and less for every other key."""
    from soundalike.ingest.musical import MINOR_PROFILE

    chroma = np.tile(np.roll(MINOR_PROFILE, 4)[:, None], (1, 10))
    scores = key_scores(chroma=chroma)
    assert scores[1, 4] == pytest.approx(1.0)
    assert np.sum(scores >= scores[1, 4] - 1e-12) == 1
    assert estimate_key(chroma=chroma) == "E minor"


def test_key_of_flat_chroma_is_unknown() -> None:
    assert estimate_key(chroma=np.ones((12, 40))) is None


def test_key_rejects_malformed_chroma() -> None:
    with pytest.raises(ValueError, match="12, frames"):
        key_scores(chroma=np.ones((11, 4)))


def test_analyse_file_carries_tempo_and_key(tmp_path: Path) -> None:
    y = np.concatenate([scale_then_triad(57, True)] * 3) + 0.5 * click_track(120.0, seconds=21.0)
    path = write_audio(tmp_path / "a_minor_120.flac", (0.5 * y / np.abs(y).max()).astype(np.float32), SR)
    analysis = analyse_file(path, sr=SR, max_bytes=None)
    assert analysis.features is not None
    assert analysis.features.key == "A minor"
    assert analysis.features.tempo == pytest.approx(120.0, rel=TEMPO_RTOL)


def test_chroma_statistics_of_a_held_triad_peak_on_its_notes() -> None:
    features = track_features(y=notes([57, 60, 64], 4.0), sr=SR)  # A minor: A, C, E
    means, spreads = features.chroma_stats[:12], features.chroma_stats[12:]
    assert set(np.argsort(means)[-3:].tolist()) == {9, 0, 4}
    assert np.all(spreads >= 0)


def test_rhythm_statistics_hold_the_tempo_in_octaves() -> None:
    features = track_features(y=click_track(120.0), sr=SR)
    assert features.rhythm_stats[0] == pytest.approx(np.log2(120.0), abs=0.05)
    assert features.rhythm_stats[1] > 0 and features.rhythm_stats[2] > 0
    flat = rhythm_statistics(onset_envelope=np.zeros(50), tempo=None)
    np.testing.assert_allclose(flat, [np.log2(NEUTRAL_BPM), 0.0, 0.0], rtol=1e-6)


def test_statistics_refuse_malformed_input() -> None:
    with pytest.raises(ValueError, match="12, frames"):
        chroma_statistics(chroma=np.ones((11, 4)))
    with pytest.raises(ValueError, match="1-D"):
        rhythm_statistics(onset_envelope=np.ones((2, 4)), tempo=120.0)
