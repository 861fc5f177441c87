"""Seeded synthetic music written as real encoded files (wav, flac, ogg, mp3) with tags."""

from __future__ import annotations

from pathlib import Path

import av
import mutagen
import numpy as np
import soundfile as sf

FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}


def drone(seed: int, seconds: float, sr: int) -> np.ndarray:
    """A slow, low, harmonic style: sustained chords with vibrato and soft noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    base = rng.uniform(80, 160)
    y = np.zeros_like(t)
    for ratio in (1.0, 1.5, 2.0, 3.0):
        vibrato = 1 + 0.004 * np.sin(2 * np.pi * rng.uniform(3, 6) * t)
        y += rng.uniform(0.2, 0.5) / ratio * np.sin(2 * np.pi * base * ratio * vibrato * t + rng.uniform(0, 6))
    y += 0.02 * rng.standard_normal(t.size)
    return (0.4 * y / np.abs(y).max()).astype(np.float32)


def beat(seed: int, seconds: float, sr: int) -> np.ndarray:
    """A fast, bright, percussive style: noise bursts on a tempo grid plus high plucked notes."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = 0.01 * rng.standard_normal(n)
    period = int(sr * 60 / rng.uniform(120, 170))
    decay = np.exp(-np.arange(period) / (0.02 * sr))
    for start in range(0, n - period, period):
        y[start : start + period] += rng.standard_normal(period) * decay * rng.uniform(0.5, 1.0)
        freq = rng.choice([880.0, 1046.5, 1318.5, 1568.0])
        y[start : start + period] += 0.3 * np.sin(2 * np.pi * freq * np.arange(period) / sr) * decay
    return (0.4 * y / np.abs(y).max()).astype(np.float32)


STYLES = {"drone": drone, "beat": beat}


def write_audio(path: Path, y: np.ndarray, sr: int, *, channels: int = 1) -> Path:
    """Encode ``y`` to ``path`` in the format its extension names."""
    fmt, subtype = FORMATS[path.suffix]
    data = np.stack([y] * channels, axis=1) if channels > 1 else y
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, sr, format=fmt, subtype=subtype)
    return path


def write_tags(path: Path, **tags: str) -> None:
    """Write easy tags (title, artist, album, date, genre) with mutagen."""
    audio = mutagen.File(str(path), easy=True)
    if audio is None:
        raise ValueError(f"mutagen cannot tag {path}")
    if audio.tags is None:
        audio.add_tags()
    for key, value in tags.items():
        audio.tags[key] = value
    audio.save()


def make_track(path: Path, style: str, seed: int, *, seconds: float = 8.0, sr: int = 22050, **tags: str) -> Path:
    """Write one synthetic track of ``style`` and tag it."""
    write_audio(path, STYLES[style](seed, seconds, sr), sr)
    if tags and path.suffix != ".wav":
        write_tags(path, **tags)
    return path


SAMPLE_FORMATS = {"aac": "fltp", "wmav2": "fltp", "alac": "s16p"}


def tone(seconds: float, sr: int, freq: float = 440.0) -> np.ndarray:
    """A plain sine at -6 dBFS, float32."""
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_with_pyav(
    path: Path, y: np.ndarray, sr: int, *, codec: str = "aac", channels: int = 2, block: int = 1024 * 64
) -> Path:
    """Encode mono ``y`` to ``path`` through PyAV (container from the suffix), duplicated to ``channels``."""
    fmt = SAMPLE_FORMATS[codec]
    layout = "stereo" if channels == 2 else "mono"
    samples = (y * 32767).astype(np.int16) if fmt == "s16p" else y
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=sr, layout=layout)
        stream.bit_rate = 128000
        for start in range(0, len(samples), block):
            chunk = np.repeat(samples[None, start : start + block], channels, axis=0)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format=fmt, layout=layout)
            frame.sample_rate = sr
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
