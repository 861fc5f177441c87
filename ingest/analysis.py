"""Analysis of one file, run in worker processes: decode, tags, features. No database here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundalike.ingest.audio import load
from soundalike.ingest.errors import DecodeError
from soundalike.ingest.features import mfcc_stats_vector
from soundalike.ingest.hashing import content_hash
from soundalike.ingest.tags import Tags, read_tags


@dataclass(frozen=True)
class FileAnalysis:
    """What ingestion stores about one file; ``error`` is set when it failed."""

    path: Path
    size: int
    mtime: float
    content_hash: str | None = None
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    tags: Tags = Tags()
    mfcc_stats: np.ndarray | None = None
    error: str | None = None


def analyse_file(path: Path, *, sr: int, max_bytes: int | None) -> FileAnalysis:
    """Decode and describe one file; any failure becomes ``error`` rather than an exception."""
    try:
        stat = path.stat()
    except OSError as exc:
        return FileAnalysis(path, 0, 0.0, error=f"cannot stat: {exc.strerror or exc}")
    size, mtime = stat.st_size, stat.st_mtime
    try:
        digest = None if path.is_dir() else content_hash(path)
        audio = load(path, sr=sr, max_bytes=max_bytes)
        vector = mfcc_stats_vector(y=audio.samples, sr=audio.sample_rate)
    except DecodeError as exc:
        return FileAnalysis(path, size, mtime, error=str(exc))
    except OSError as exc:
        return FileAnalysis(path, size, mtime, error=f"cannot read: {exc.strerror or exc}")
    return FileAnalysis(
        path=path,
        size=size,
        mtime=mtime,
        content_hash=digest,
        duration=audio.duration,
        sample_rate=audio.source_sample_rate,
        channels=audio.channels,
        tags=read_tags(path),
        mfcc_stats=vector,
    )
