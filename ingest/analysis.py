"""Analysis of one file, run in worker processes: decode, tags, features. No database here.

Each file is decoded once, at its own sample rate; its ``TrackFeatures`` are computed from that audio
resampled to the ingest rate (or, when a batched device extractor computes them later, that audio is
handed on as ``samples``), and (when a later stage asks through an
``AudioFrontEnd``, e.g. MusiCNN's log-mel patches) its front end runs on the same audio resampled to
the front end's rate, so an embedding model never has to open the file again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from soundalike.ingest.audio import at_rate, decode
from soundalike.ingest.errors import DecodeError
from soundalike.ingest.hashing import content_hash
from soundalike.ingest.tags import Tags, read_tags
from soundalike.ingest.track_features import TrackFeatures, track_features


class AudioFrontEnd(Protocol):
    """What a later stage computes from each file's decoded audio inside the decoding workers.

    It travels to the worker processes, so it must pickle (a module-level class or function).
    """

    @property
    def sample_rate(self) -> int:
        """The rate the decoded audio is resampled to before the call."""
        ...

    def __call__(self, *, y: np.ndarray) -> np.ndarray:
        """The array kept as ``FileAnalysis.patches`` for mono audio ``y`` at ``sample_rate``."""
        ...


@dataclass(frozen=True)
class FileAnalysis:
    """What ingestion stores about one file; ``error`` is set when it failed.

    ``patches`` holds what the ``AudioFrontEnd`` given to ``analyse_file`` computed (for MusiCNN,
    (n, 187, 96) float32 log-mel patches; n is 0 for audio shorter than one 3 s patch).
    ``features`` holds the statistics, tempo and key (None for a failure, or until a batched extractor runs).
    ``samples`` holds the mono float32 audio at the ingest rate when the features were left to a
    batched extractor (``analyse_file(..., with_features=False)``); ``batched_analyses`` fills them in.
    ``note`` says what a listener should know about the decode (a truncated file), as ``DecodedAudio.note``.
    ``encoded`` is what a consumer's encoder made of ``patches`` when an engine encoded them in its own
    workers (``ingest.engine.PatchEncoder``); ``patches`` is then None.
    """

    path: Path
    size: int
    mtime: float
    content_hash: str | None = None
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    tags: Tags = Tags()
    features: TrackFeatures | None = None
    patches: np.ndarray | None = None
    samples: np.ndarray | None = None
    note: str | None = None
    error: str | None = None
    encoded: object | None = None


def warm_up(sr: int) -> None:
    """Load and run once what ``analyse_file`` computes (librosa's modules, its compiled kernels), so a decoding
    worker does it before its first file rather than during it."""
    noise = np.random.default_rng(0).standard_normal(2 * sr).astype(np.float32)
    track_features(y=0.1 * noise, sr=sr)


def analyse_file(
    path: Path,
    *,
    sr: int,
    max_bytes: int | None,
    front_end: AudioFrontEnd | None = None,
    with_features: bool = True,
) -> FileAnalysis:
    """Decode and describe one file; any failure becomes ``error`` rather than an exception.

    A ``front_end`` also runs on the same decode, resampled to its rate (its result is ``patches``).
    Without ``with_features`` the features are left empty and the audio at
    ``sr`` is returned as ``samples`` for a batched extractor.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        return FileAnalysis(path, 0, 0.0, error=f"cannot stat: {exc.strerror or exc}")
    size, mtime = stat.st_size, stat.st_mtime
    try:
        digest = None if path.is_dir() else content_hash(path)
        source = decode(path, max_bytes=max_bytes)
        audio = at_rate(source, sr).samples
        features = track_features(y=audio, sr=sr) if with_features else None
        patches = None if front_end is None else front_end(y=at_rate(source, front_end.sample_rate).samples)
    except DecodeError as exc:
        return FileAnalysis(path, size, mtime, error=str(exc))
    except OSError as exc:
        return FileAnalysis(path, size, mtime, error=f"cannot read: {exc.strerror or exc}")
    return FileAnalysis(
        path=path,
        size=size,
        mtime=mtime,
        content_hash=digest,
        duration=source.duration,
        sample_rate=source.source_sample_rate,
        channels=source.channels,
        tags=read_tags(path),
        features=features,
        patches=patches,
        samples=None if features else audio.astype(np.float32, copy=False),
        note=source.note,
    )
