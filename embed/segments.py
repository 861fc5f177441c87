"""Segments of a track: pooled MusiCNN features of consecutive runs of its patches, normalised as the fusion's
``musicnn`` block normalises the track's pooled features, so similar tracks can be re-ranked by their
best-matching segments (``recommend.ranking.mix_segment_scores``).

Ingestion stores each track's segments as one ``musicnn_segments`` feature of ``k * 1506`` values, time order
(``musicnn_encoder.SEGMENTS``). A track analysed before segments were stored has none: ``index build`` with
``SOUNDALIKE_SEGMENT_WEIGHT`` above 0 computes them from the audio (``complete_segments``); until then the track
is ranked by its track score alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session
from torch import nn

from soundalike.embed.decodable import each_decodable
from soundalike.embed.fusion import MODEL_NAME, BlockNormaliser, load_fusion, parse_blocks
from soundalike.embed.musicnn_encoder import SEGMENTS_FEATURE, PatchEncoder, store_track_features
from soundalike.embed.musicnn_frontend import SAMPLE_RATE, musicnn_patches
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.audio import load
from soundalike.ingest.errors import ConfigError
from soundalike.ingest.repository import feature_vectors, tracks_missing_features
from soundalike.ingest.settings import Settings

BACKFILL_TRACKS = 16
"""Tracks whose patches go through the network together when segments are computed for older tracks."""


@dataclass(frozen=True)
class SegmentScoring:
    """How much the best segment match counts, and the catalogue normalisation of the pooled block."""

    weight: float
    normaliser: BlockNormaliser

    def read(self, session: Session, track_ids: Collection[int]) -> dict[int, np.ndarray]:
        """Unit-norm (k, d) normalised segments of those of ``track_ids`` that have them, in one query."""
        width = int(self.normaliser.standardiser.mean.shape[0])
        stored = feature_vectors(session, SEGMENTS_FEATURE, track_ids)
        fits = {t: v.reshape(-1, width) for t, v in stored.items() if v.size % width == 0}
        return {t: unit_rows(self.normaliser.apply(matrix)) for t, matrix in fits.items()}


def segment_scoring(settings: Settings) -> SegmentScoring | None:
    """The segment re-ranking the settings ask for, None when ``segment_weight`` is 0.

    ConfigError when the embedding model is not ``fusion`` with a ``musicnn`` block (segments are normalised
    as that block is); NotFoundError before the first ``index build`` fitted it.
    """
    if settings.segment_weight == 0:
        return None
    blocks = parse_blocks(settings.fusion_blocks)
    if settings.embedding_model != MODEL_NAME or "musicnn" not in {b.name for b in blocks}:
        raise ConfigError(
            f"SOUNDALIKE_SEGMENT_WEIGHT={settings.segment_weight:g} needs the fusion embedding model with a musicnn "
            f"block; the settings give model {settings.embedding_model!r} with blocks {settings.fusion_blocks!r}"
        )
    return SegmentScoring(settings.segment_weight, load_fusion(settings.models_dir, blocks).normalisers["musicnn"])


def complete_segments(
    session: Session,
    encoder: PatchEncoder[nn.Module],
    *,
    max_bytes: int | None,
    on_track: Callable[[], None] | None = None,
) -> int:
    """Compute and store the segments (with the pooled features and tags they come with) of every ok track that
    lacks them; an undecodable track is passed over. Returns how many tracks got segments."""

    def cut(item: tuple[int, Path]) -> np.ndarray:
        return musicnn_patches(y=load(item[1], sr=SAMPLE_RATE, max_bytes=max_bytes).samples)

    done = 0
    decoded = each_decodable(tracks_missing_features(session, [SEGMENTS_FEATURE]), cut, on_item=on_track)
    while chunk := list(islice(decoded, BACKFILL_TRACKS)):
        for ((track_id, _), _), encoded in zip(chunk, encoder.encode_patches([p for _, p in chunk]), strict=True):
            store_track_features(session, track_id, encoded, encoder.version)
        done += len(chunk)
    session.flush()
    return done
