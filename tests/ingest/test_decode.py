"""Decoding through libsndfile and PyAV: formats, the analysis policy, bounded memory, clear errors."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from soundalike.ingest.audio import (
    SEGMENT_SECONDS,
    SEGMENTS,
    analysis_windows,
    decode,
    load,
)
from soundalike.ingest.errors import DecodeError

from support.audio_factory import make_track, tone, write_with_pyav


@pytest.mark.parametrize(("name", "codec"), [("aac.m4a", "aac"), ("alac.m4a", "alac"), ("tone.wma", "wmav2")])
def test_aac_alac_and_wma_written_by_pyav_decode_to_the_same_tone(tmp_path: Path, name: str, codec: str) -> None:
    sr = 44100
    y = tone(6.0, sr)
    path = write_with_pyav(tmp_path / name, y, sr, codec=codec)
    audio = decode(path)
    assert audio.sample_rate == sr and audio.channels == 2
    assert audio.duration == pytest.approx(6.0, abs=0.1)
    spectrum = np.abs(np.fft.rfft(audio.samples))
    peak_hz = np.argmax(spectrum) * sr / len(audio.samples)
    assert peak_hz == pytest.approx(440.0, abs=2.0)
    rms = float(np.sqrt(np.mean(audio.samples[sr:-sr] ** 2)))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.05)


def test_m4a_is_resampled_by_load(tmp_path: Path) -> None:
    path = write_with_pyav(tmp_path / "tone.m4a", tone(4.0, 48000), 48000, channels=1)
    audio = load(path, sr=16000)
    assert audio.sample_rate == 16000 and audio.source_sample_rate == 48000 and audio.channels == 1
    assert len(audio.samples) == pytest.approx(4.0 * 16000, abs=2048)


def test_long_m4a_is_read_as_segments_at_the_right_places(tmp_path: Path) -> None:
    """Each 30 s segment of a long AAC file holds the tone of the minute it was cut from."""
    sr = 8000
    minutes = 5
    y = np.concatenate([tone(60.0, sr, freq=200.0 + 100.0 * m) for m in range(minutes)])
    path = write_with_pyav(tmp_path / "long.m4a", y, sr, channels=1)
    audio = decode(path)
    segment = int(SEGMENT_SECONDS * sr)
    assert len(audio.samples) == pytest.approx(SEGMENTS * segment, abs=SEGMENTS * 2048)
    windows = analysis_windows(frames=len(y), sr=sr)
    for i, (start, _) in enumerate(windows):
        piece = audio.samples[i * segment + sr : i * segment + 2 * sr]
        expected = 200.0 + 100.0 * ((start + sr) // (60 * sr))
        peak_hz = np.argmax(np.abs(np.fft.rfft(piece))) * sr / len(piece)
        assert peak_hz == pytest.approx(expected, abs=2.0)


@pytest.mark.parametrize("suffix", [".flac", ".ogg", ".mp3"])
def test_soundfile_formats_still_decode_at_their_own_rate(tmp_path: Path, suffix: str) -> None:
    path = make_track(tmp_path / f"beat{suffix}", "beat", seed=3, seconds=4.0, sr=22050)
    audio = decode(path)
    assert audio.sample_rate == 22050
    assert audio.duration == pytest.approx(4.0, abs=0.1)


def test_file_libsndfile_rejects_falls_back_to_pyav(tmp_path: Path) -> None:
    """An AAC stream behind a misleading .ogg name is decoded by the PyAV fallback."""
    source = write_with_pyav(tmp_path / "tone.m4a", tone(3.0, 22050), 22050, channels=1)
    renamed = source.rename(tmp_path / "really_aac.ogg")
    with pytest.raises(sf.LibsndfileError):
        sf.info(str(renamed))
    assert decode(renamed).duration == pytest.approx(3.0, abs=0.1)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty file"), (b"this is a text file, not audio\n" * 20, "cannot decode audio")],
)
def test_undecodable_files_raise_decode_error_with_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.m4a"
    path.write_bytes(content)
    with pytest.raises(DecodeError, match=reason):
        decode(path)


def test_too_short_m4a_is_rejected(tmp_path: Path) -> None:
    path = write_with_pyav(tmp_path / "short.m4a", tone(0.4, 22050), 22050, channels=1)
    with pytest.raises(DecodeError, match="too short"):
        decode(path)


def _write_long_wav(path: Path, *, minutes: int, sr: int) -> Path:
    """A long 16-bit mono WAV written block by block, so the test itself stays small in memory."""
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=2, subtype="PCM_16") as handle:
        minute = tone(60.0, sr, freq=330.0)
        for _ in range(minutes):
            handle.write(np.stack([minute, minute], axis=1))
    return path


def _peak_traced_bytes(path: Path, sr: int) -> int:
    tracemalloc.start()
    try:
        load(path, sr=sr)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_peak_memory_of_a_long_file_does_not_grow_with_its_length(tmp_path: Path) -> None:
    """Decoding 10 min and 120 min stereo files peaks at about the same memory: only segments are held."""
    sr = 22050
    short = _peak_traced_bytes(_write_long_wav(tmp_path / "ten.wav", minutes=10, sr=sr), sr)
    long = _peak_traced_bytes(_write_long_wav(tmp_path / "two_hours.wav", minutes=120, sr=sr), sr)
    whole_track_bytes = 120 * 60 * sr * 4
    assert long < 1.2 * short + 1_000_000
    assert long < whole_track_bytes / 20
