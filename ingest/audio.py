"""Audio decoding: the one module that opens audio files.

Analysis policy: a track of at most ``WHOLE_TRACK_SECONDS`` is analysed whole; a longer one is analysed
as ``SEGMENTS`` excerpts of ``SEGMENT_SECONDS`` spread evenly across it (skipping the first and last
5 %), read by seeking, so memory stays bounded whatever the file's length.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from soundalike.ingest.errors import DecodeError

WHOLE_TRACK_SECONDS = 120.0
SEGMENT_SECONDS = 30.0
SEGMENTS = 4
MIN_SECONDS = 1.0
SILENCE_RMS = 1e-4
MIN_SAMPLE_RATE = 8000


@dataclass(frozen=True)
class DecodedAudio:
    """Mono float32 samples at ``sample_rate`` plus facts about the source file."""

    samples: np.ndarray
    sample_rate: int
    duration: float
    source_sample_rate: int
    channels: int


def analysis_windows(*, frames: int, sr: int) -> list[tuple[int, int]]:
    """(start, length) frame windows to analyse for a file of ``frames`` frames at ``sr``."""
    if frames <= WHOLE_TRACK_SECONDS * sr:
        return [(0, frames)]
    length = int(SEGMENT_SECONDS * sr)
    usable_start = int(0.05 * frames)
    usable_end = int(0.95 * frames) - length
    starts = np.linspace(usable_start, usable_end, SEGMENTS).astype(int)
    return [(int(s), length) for s in starts]


def to_mono(block: np.ndarray) -> np.ndarray:
    """Average channels of a (frames, channels) block into float32 mono."""
    if block.ndim == 1:
        return block.astype(np.float32, copy=False)
    return block.mean(axis=1, dtype=np.float32)


def resample(*, y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """High-quality resampling with soxr; returns float32."""
    if sr_in == sr_out:
        return y.astype(np.float32, copy=False)
    return soxr.resample(y, sr_in, sr_out, quality="HQ").astype(np.float32, copy=False)


def load(path: Path, *, sr: int, max_bytes: int | None = None) -> DecodedAudio:
    """Decode ``path`` to mono float32 at ``sr`` following the analysis policy.

    Raises DecodeError with a human-readable reason for empty, oversized, undecodable,
    too short, low-sample-rate or silent files.
    """
    if path.is_dir():
        raise DecodeError("is a directory")
    size = path.stat().st_size
    if size == 0:
        raise DecodeError("empty file (0 bytes)")
    if max_bytes is not None and size > max_bytes:
        raise DecodeError(f"file too large ({size} bytes > limit {max_bytes})")
    try:
        with sf.SoundFile(str(path)) as handle:
            source_sr = int(handle.samplerate)
            channels = int(handle.channels)
            frames = int(handle.frames)
            if source_sr < MIN_SAMPLE_RATE:
                raise DecodeError(f"sample rate {source_sr} Hz is below {MIN_SAMPLE_RATE} Hz")
            if frames < MIN_SECONDS * source_sr:
                raise DecodeError(f"too short ({frames / max(source_sr, 1):.2f} s < {MIN_SECONDS} s)")
            pieces = []
            for start, length in analysis_windows(frames=frames, sr=source_sr):
                handle.seek(start)
                block = handle.read(length, dtype="float32", always_2d=True)
                pieces.append(to_mono(block))
    except DecodeError:
        raise
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise DecodeError(f"cannot decode audio: {exc}") from exc
    mono = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    if mono.size == 0:
        raise DecodeError("no audio frames could be read (truncated file?)")
    if not np.all(np.isfinite(mono)):
        raise DecodeError("decoded samples contain NaN or infinity")
    rms = float(np.sqrt(np.mean(np.square(mono, dtype=np.float64))))
    if rms < SILENCE_RMS:
        raise DecodeError(f"silent (RMS {rms:.2e} below {SILENCE_RMS:.0e})")
    samples = resample(y=mono, sr_in=source_sr, sr_out=sr)
    return DecodedAudio(samples, sr, frames / source_sr, source_sr, channels)
