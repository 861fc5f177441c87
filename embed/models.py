"""The embedding models behind one interface, chosen once from settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed import mfcc_embedding, musicnn_encoder
from soundalike.ingest.audio import load
from soundalike.ingest.device import resolve_device
from soundalike.ingest.features import mfcc_stats_vector
from soundalike.ingest.settings import Settings


class EmbeddingModel(Protocol):
    """Turns catalogue tracks and outside files into unit-norm vectors."""

    name: str

    def refresh(self, session: Session, *, on_track: Callable[[], None] | None = None) -> tuple[int, str]:
        """Bring the stored embeddings up to date; returns (count written, model version)."""
        ...

    def embed_file(self, path: Path) -> np.ndarray:
        """Embedding of an audio file outside the catalogue."""
        ...


class MfccStatsModel:
    """Standardised MFCC statistics: the baseline."""

    name = mfcc_embedding.MODEL_NAME

    def __init__(self, settings: Settings) -> None:
        """Remember where the fitted standardiser lives."""
        self.settings = settings

    def refresh(self, session: Session, *, on_track: Callable[[], None] | None = None) -> tuple[int, str]:
        """Refit the standardiser and rewrite every embedding (cheap: no audio is read)."""
        return mfcc_embedding.refresh_embeddings(session, self.settings.models_dir)

    def embed_file(self, path: Path) -> np.ndarray:
        """MFCC statistics of the file, standardised with the catalogue's parameters."""
        audio = load(path, sr=self.settings.sample_rate, max_bytes=self.settings.max_file_bytes)
        features = mfcc_stats_vector(y=audio.samples, sr=audio.sample_rate)
        standardiser = mfcc_embedding.load_standardiser(self.settings.models_dir)
        return mfcc_embedding.embed_features(features, standardiser)[0]


class MusicnnModel:
    """Pretrained MusiCNN (MSD) penultimate features, on the resolved device."""

    name = musicnn_encoder.MODEL_NAME

    def __init__(self, settings: Settings) -> None:
        """The network is loaded on first use, on the device the settings resolve to."""
        self.settings = settings
        self._encoder: musicnn_encoder.MusicnnEncoder | None = None

    @property
    def encoder(self) -> musicnn_encoder.MusicnnEncoder:
        """The loaded network."""
        if self._encoder is None:
            self._encoder = musicnn_encoder.MusicnnEncoder(resolve_device(self.settings.device))
        return self._encoder

    def refresh(self, session: Session, *, on_track: Callable[[], None] | None = None) -> tuple[int, str]:
        """Encode the tracks without a current embedding."""
        return musicnn_encoder.refresh_embeddings(session, self.encoder, on_track=on_track)

    def embed_file(self, path: Path) -> np.ndarray:
        """MusiCNN embedding of the file."""
        return self.encoder.encode_file(path, max_bytes=self.settings.max_file_bytes)[0]


def embedding_model(settings: Settings) -> EmbeddingModel:
    """The embedding model named by ``settings.embedding_model``."""
    if settings.embedding_model == mfcc_embedding.MODEL_NAME:
        return MfccStatsModel(settings)
    return MusicnnModel(settings)
