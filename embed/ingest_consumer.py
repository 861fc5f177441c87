"""MusiCNN embeddings computed during ingestion, from the patches the ingest workers already cut.

``MusicnnIngestConsumer`` is an ``ingest.pipeline.AnalysisConsumer``: its front end
(``musicnn_frontend.PatchFrontEnd``) has the decoding workers cut each file's log-mel patches; it
buffers each stored track's patches and, when the pipeline flushes before a commit, runs them through the network in
shared batches (or takes what an engine's workers already encoded with ``make_encoder``) and writes embeddings, tag
probabilities and pooled features as ``refresh_embeddings`` does (same model name and version), so a later
``index build`` finds nothing left to encode.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from sqlalchemy.orm import Session
from torch import nn

from soundalike.embed.fusion_features import settings_need_msd
from soundalike.embed.musicnn_encoder import MODEL_NAME, Encoded, MusicnnEncoder, PatchEncoder, store_track_features
from soundalike.embed.musicnn_frontend import LOOPED_NOTE, SAMPLE_RATE, PatchFrontEnd, is_short
from soundalike.embed.musicnn_runtime import msd_encoder
from soundalike.embed.store import put_embeddings
from soundalike.ingest.analysis import FileAnalysis
from soundalike.ingest.engine import EncoderFactory
from soundalike.ingest.errors import ConfigError
from soundalike.ingest.repository import add_track_note
from soundalike.ingest.settings import Settings


class MusicnnIngestConsumer:
    """Embeds tracks with MusiCNN (or its distilled student) inside the ingest transaction; one network, loaded once."""

    def __init__(self, encoder: PatchEncoder[nn.Module], make_encoder: EncoderFactory = MusicnnEncoder) -> None:
        """Use ``encoder`` (already on its device) for every flushed batch; an engine's workers build the same
        network with ``make_encoder`` on their own device."""
        self.encoder = encoder
        self.front_end = PatchFrontEnd(encoder.patch_limit)
        self._make_encoder = make_encoder
        self.encoded = 0
        self.looped = 0
        self._pending: list[tuple[int, np.ndarray | Encoded]] = []

    @property
    def make_encoder(self) -> EncoderFactory:
        """The encoder an engine's worker builds on its own device."""
        return self._make_encoder

    def consume(self, session: Session, track_id: int, analysis: FileAnalysis) -> None:
        """Buffer the track's patches (or its ``encoded`` result); a track shorter than one 3 s patch (looped to fill
        it) gets ``LOOPED_NOTE``."""
        if isinstance(analysis.encoded, Encoded):
            work: np.ndarray | Encoded = analysis.encoded
        elif analysis.patches is not None:
            work = analysis.patches
        else:
            raise ConfigError(f"{analysis.path}: no MusiCNN patches (analyse with the consumer's front_end)")
        if analysis.duration is not None and is_short(round(analysis.duration * SAMPLE_RATE)):
            add_track_note(session, track_id, LOOPED_NOTE)
            self.looped += 1
        self._pending.append((track_id, work))

    def flush(self, session: Session) -> None:
        """Encode the buffered tracks and write their embeddings and tag probabilities into ``session``."""
        if not self._pending:
            return
        track_ids = [track_id for track_id, _ in self._pending]
        fresh = iter(self.encoder.encode_patches([w for _, w in self._pending if not isinstance(w, Encoded)]))
        results = [w if isinstance(w, Encoded) else next(fresh) for _, w in self._pending]
        self._pending.clear()
        for track_id, encoded in zip(track_ids, results, strict=True):
            store_track_features(session, track_id, encoded, self.encoder.version)
        vectors = np.stack([encoded.embedding for encoded in results])
        track_array = np.array(track_ids, dtype=np.int64)
        put_embeddings(session, self.encoder.model_name, self.encoder.version, track_array, vectors)
        self.encoded += len(track_ids)


def consumer_for(settings: Settings, device: torch.device) -> MusicnnIngestConsumer | None:
    """The consumer that embeds on ``device`` during ingestion, else None.

    MusiCNN when it is the embedding model or a block of the ``fusion`` model (which reads its pooled features and
    embedding), run by ``SOUNDALIKE_CNN_RUNTIME`` (the distilled student included).
    """
    if settings.embedding_model == MODEL_NAME or settings_need_msd(settings):
        make_msd = partial(msd_encoder, settings)
        return MusicnnIngestConsumer(make_msd(device), make_msd)
    return None
