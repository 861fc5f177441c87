"""File analyses completed in the ingesting process, many files per batch (the device path).

When a batched extractor is chosen (``torch_features.track_feature_batcher``), the decoding
workers hand on each file's audio and this stage fills in their ``TrackFeatures`` a batch
at a time, keeping the analyses in their original order. A batch closes at ``max_files`` files or
``max_samples`` samples, so the audio held here stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from soundalike.ingest.analysis import FileAnalysis
from soundalike.ingest.track_features import MAX_BATCH_SAMPLES, TrackFeatureBatcher

MAX_BATCH_FILES = 32


def _complete(pending: list[FileAnalysis], batcher: TrackFeatureBatcher, sr: int) -> list[FileAnalysis]:
    waiting = [(n, a.samples) for n, a in enumerate(pending) if a.samples is not None]
    features = batcher([samples for _, samples in waiting], sr=sr)
    done = list(pending)
    for (n, _), computed in zip(waiting, features, strict=True):
        done[n] = replace(pending[n], features=computed, samples=None)
    return done


def with_batched_features(
    analyses: Iterable[FileAnalysis],
    batcher: TrackFeatureBatcher,
    *,
    sr: int,
    max_files: int = MAX_BATCH_FILES,
    max_samples: int = MAX_BATCH_SAMPLES,
) -> Iterator[FileAnalysis]:
    """The same analyses, in order, with the features of those carrying ``samples`` computed by ``batcher``."""
    pending: list[FileAnalysis] = []
    held = 0
    for analysis in analyses:
        pending.append(analysis)
        held += 0 if analysis.samples is None else len(analysis.samples)
        if len(pending) >= max_files or held >= max_samples:
            yield from _complete(pending, batcher, sr)
            pending, held = [], 0
    if pending:
        yield from _complete(pending, batcher, sr)
