"""Audio decoding: the one module that opens audio files.

Analysis policy: a track of at most ``WHOLE_TRACK_SECONDS`` is analysed whole; a longer one is analysed
as ``SEGMENTS`` excerpts of ``SEGMENT_SECONDS`` spread evenly across it (skipping the first and last
5 %), read by seeking, so memory stays bounded whatever the file's length.

libsndfile (``soundfile``) decodes wav/flac/ogg/opus/mp3; PyAV (the ffmpeg libraries) decodes what it
lacks (m4a/aac/alac/wma...) and is the fallback when libsndfile fails on a file. Both read in blocks of
``BLOCK_FRAMES`` and downmix each block at once, so only the mono analysis windows are ever held.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np
import soundfile as sf
import soxr

from soundalike.ingest.errors import DecodeError

WHOLE_TRACK_SECONDS = 120.0
SEGMENT_SECONDS = 30.0
SEGMENTS = 4
MIN_SECONDS = 1.0
TRUNCATION_TOLERANCE_SECONDS = 0.25
SILENCE_RMS = 1e-4
MIN_SAMPLE_RATE = 8000
BLOCK_FRAMES = 65536

PYAV_SUFFIXES = frozenset({".m4a", ".mp4", ".aac", ".alac", ".wma", ".asf", ".webm", ".mka", ".ac3"})
"""Suffixes that go straight to PyAV: libsndfile cannot read these containers or codecs."""


@dataclass(frozen=True)
class DecodedAudio:
    """Mono float32 samples at ``sample_rate`` plus facts about the source file.

    ``duration`` is what decoded (the header's figure only for a long file read in windows that all
    came up whole); ``header_duration`` is set when the header promised more than that, by over
    ``TRUNCATION_TOLERANCE_SECONDS``: the file is truncated.
    """

    samples: np.ndarray
    sample_rate: int
    duration: float
    source_sample_rate: int
    channels: int
    header_duration: float | None = None

    @property
    def note(self) -> str | None:
        """What a listener should know about this decode (a truncated file), or None."""
        if self.header_duration is None:
            return None
        return f"truncated: {self.duration:.1f} s decoded of the {self.header_duration:.1f} s its header states"


class _Read(NamedTuple):
    """What a decoder read: mono analysis windows (concatenated) and the stream's facts."""

    mono: np.ndarray
    rate: int
    channels: int
    frames: int
    """Frames that decoded (the header's count when every window of a long file came up whole)."""
    header_frames: int


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


def _check_format(*, source_sr: int, frames: int) -> None:
    if source_sr < MIN_SAMPLE_RATE:
        raise DecodeError(f"sample rate {source_sr} Hz is below {MIN_SAMPLE_RATE} Hz")
    if frames < MIN_SECONDS * source_sr:
        raise DecodeError(f"too short ({frames / max(source_sr, 1):.2f} s < {MIN_SECONDS} s)")


def _soundfile_blocks(handle: sf.SoundFile, frames: int) -> Iterator[np.ndarray]:
    """Up to ``frames`` frames from the current position, in blocks, ending where the data does.

    (``SoundFile.blocks`` would hand out whole blocks past the end of a file shorter than its header.)
    """
    while frames > 0:
        block = handle.read(min(BLOCK_FRAMES, frames), dtype="float32", always_2d=True)
        if len(block) == 0:
            return
        yield block
        frames -= len(block)


def _soundfile_windows(handle: sf.SoundFile, frames: int) -> tuple[np.ndarray, bool]:
    """The analysis windows for ``frames`` frames, concatenated, and whether each came up whole."""
    windows = analysis_windows(frames=frames, sr=int(handle.samplerate))
    mono = np.empty(sum(length for _, length in windows), dtype=np.float32)
    filled = 0
    for start, length in windows:
        handle.seek(start)
        got = 0
        for block in _soundfile_blocks(handle, length):
            mono[filled + got : filled + got + len(block)] = to_mono(block)
            got += len(block)
        filled += got
        if got < length:
            return mono[:filled], False
    return mono[:filled], True


def _soundfile_count(handle: sf.SoundFile) -> int:
    """Frames that actually decode, read from the start (for a file shorter than its header says)."""
    handle.seek(0)
    return sum(len(block) for block in _soundfile_blocks(handle, int(handle.frames)))


def _read_soundfile(path: Path) -> _Read:
    """Analysis windows and stream facts through libsndfile; a window that comes up short means truncation."""
    with sf.SoundFile(os.fsencode(path)) as handle:
        source_sr, channels, frames = int(handle.samplerate), int(handle.channels), int(handle.frames)
        _check_format(source_sr=source_sr, frames=frames)
        mono, whole = _soundfile_windows(handle, frames)
        if whole:
            decoded = len(mono) if frames <= WHOLE_TRACK_SECONDS * source_sr else frames
        else:
            decoded = _soundfile_count(handle)
            _check_format(source_sr=source_sr, frames=decoded)
            mono, _ = _soundfile_windows(handle, decoded)
    return _Read(mono, source_sr, channels, decoded, frames)


def _decodable_frames(container: av.container.InputContainer, stream: av.AudioStream) -> Iterator[av.AudioFrame]:
    """The decoded frames of ``stream`` up to the first packet that does not decode."""
    frames = container.decode(stream)
    while True:
        try:
            frame = next(frames)
        except (StopIteration, av.error.InvalidDataError):
            return
        yield frame


def _mono_frames(
    container: av.container.InputContainer, stream: av.AudioStream
) -> Iterator[tuple[int | None, np.ndarray]]:
    """(first sample index when known, mono float32 block) of each decoded frame of ``stream``.

    Data that stops decoding (a file cut short mid-frame) ends the stream there.
    """
    rate = stream.codec_context.sample_rate
    for frame in _decodable_frames(container, stream):
        data: np.ndarray = frame.to_ndarray()
        if not np.issubdtype(data.dtype, np.floating):
            full_scale = -int(np.iinfo(data.dtype.type).min)
            data = data.astype(np.float32) / np.float32(full_scale)
        if frame.format.is_planar:
            mono = data.mean(axis=0, dtype=np.float32)
        else:
            mono = data.reshape(-1, len(frame.layout.channels)).mean(axis=1, dtype=np.float32)
        start = (
            None if frame.pts is None or frame.time_base is None else round(float(frame.pts * frame.time_base) * rate)
        )
        yield start, mono


def _pyav_frames(container: av.container.InputContainer, stream: av.AudioStream, rate: int) -> int:
    """Frame count of the stream: from its header when known, else by counting decoded samples."""
    if stream.duration is not None and stream.time_base is not None:
        return int(float(stream.duration * stream.time_base) * rate)
    if container.duration is not None:
        return int(container.duration / av.time_base * rate)
    total = sum(len(block) for _, block in _mono_frames(container, stream))
    container.seek(0)
    return total


def _read_window(
    container: av.container.InputContainer, stream: av.AudioStream, *, start: int, window: np.ndarray, rate: int
) -> int:
    """Fill ``window`` from sample ``start`` of the stream, seeking to the nearest earlier keyframe first.

    Returns how many samples were filled (fewer than asked at the end of a truncated stream).
    """
    length = len(window)
    if start > 0 and stream.time_base is not None:
        container.seek(int(start / rate / stream.time_base), stream=stream, backward=True)
    else:
        container.seek(0)
    position: int | None = None
    filled = 0
    for first, block in _mono_frames(container, stream):
        begin = (first if first is not None else 0) if position is None else position
        end = position = begin + len(block)
        lo, hi = max(start, begin), min(start + length, end)
        if hi > lo:
            window[lo - start : hi - start] = block[lo - begin : hi - begin]
            filled = hi - start
        if end >= start + length:
            break
    return filled


def _pyav_windows(
    container: av.container.InputContainer, stream: av.AudioStream, *, frames: int, rate: int
) -> tuple[np.ndarray, bool]:
    """The analysis windows for ``frames`` frames, concatenated, and whether each came up whole."""
    windows = analysis_windows(frames=frames, sr=rate)
    mono = np.zeros(sum(length for _, length in windows), dtype=np.float32)
    filled = 0
    for start, length in windows:
        got = _read_window(container, stream, start=start, window=mono[filled : filled + length], rate=rate)
        filled += got
        if got < length:
            return mono[:filled], False
    return mono[:filled], True


def _read_pyav(path: Path) -> _Read:
    """Analysis windows and stream facts through PyAV; a window that comes up short means truncation."""
    with path.open("rb") as raw, av.open(raw, mode="r") as container:
        if not container.streams.audio:
            raise DecodeError("no audio stream in the file")
        stream = container.streams.audio[0]
        rate = int(stream.codec_context.sample_rate or 0)
        channels = int(stream.codec_context.channels or 0)
        frames = _pyav_frames(container, stream, rate)
        _check_format(source_sr=rate, frames=frames)
        mono, whole = _pyav_windows(container, stream, frames=frames, rate=rate)
        if whole:
            decoded = len(mono) if frames <= WHOLE_TRACK_SECONDS * rate else frames
        else:
            container.seek(0)
            decoded = sum(len(block) for _, block in _mono_frames(container, stream))
            _check_format(source_sr=rate, frames=decoded)
            mono, _ = _pyav_windows(container, stream, frames=decoded, rate=rate)
    return _Read(mono, rate, channels, decoded, frames)


_LIBRARY_ERRORS = (sf.LibsndfileError, av.FFmpegError, RuntimeError, ValueError, EOFError)


def _read_any(path: Path) -> _Read:
    """Decode the analysis windows with libsndfile, falling back to PyAV for what it cannot read."""
    if path.suffix.lower() not in PYAV_SUFFIXES:
        try:
            return _read_soundfile(path)
        except _LIBRARY_ERRORS:
            pass
    try:
        return _read_pyav(path)
    except _LIBRARY_ERRORS as exc:
        raise DecodeError(f"cannot decode audio: {exc}") from exc


def decode(path: Path, *, max_bytes: int | None = None) -> DecodedAudio:
    """Decode ``path`` to mono float32 at its own sample rate, following the analysis policy.

    Raises DecodeError with a human-readable reason for empty, oversized, undecodable,
    too short, low-sample-rate or silent files. A truncated file decodes as far as it goes: its
    ``duration`` is what decoded and ``header_duration`` what the header claimed.
    """
    if path.is_dir():
        raise DecodeError("is a directory")
    size = path.stat().st_size
    if size == 0:
        raise DecodeError("empty file (0 bytes)")
    if max_bytes is not None and size > max_bytes:
        raise DecodeError(f"file too large ({size} bytes > limit {max_bytes})")
    read = _read_any(path)
    mono = read.mono
    if mono.size == 0:
        raise DecodeError("no audio frames could be read (truncated file?)")
    if not np.all(np.isfinite(mono)):
        raise DecodeError("decoded samples contain NaN or infinity")
    rms = float(np.sqrt(np.dot(mono, mono) / mono.size))
    if rms < SILENCE_RMS:
        raise DecodeError(f"silent (RMS {rms:.2e} below {SILENCE_RMS:.0e})")
    short_by = read.header_frames - read.frames
    header_duration = read.header_frames / read.rate if short_by > TRUNCATION_TOLERANCE_SECONDS * read.rate else None
    return DecodedAudio(mono, read.rate, read.frames / read.rate, read.rate, read.channels, header_duration)


def at_rate(audio: DecodedAudio, sr: int) -> DecodedAudio:
    """The same decoded audio resampled to ``sr`` (unchanged when it is already at ``sr``)."""
    if audio.sample_rate == sr:
        return audio
    return replace(audio, samples=resample(y=audio.samples, sr_in=audio.sample_rate, sr_out=sr), sample_rate=sr)


def load(path: Path, *, sr: int, max_bytes: int | None = None) -> DecodedAudio:
    """Decode ``path`` to mono float32 at ``sr`` following the analysis policy (see :func:`decode`)."""
    return at_rate(decode(path, max_bytes=max_bytes), sr)
