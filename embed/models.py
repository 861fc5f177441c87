"""The embedding models behind one interface, chosen once from settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from sqlalchemy.orm import Session

from soundalike.embed import (
    adapt,
    fusion,
    fusion_features,
    mfcc_embedding,
    musicnn_encoder,
    musicnn_runtime,
    style_projection,
    trained_cnn,
)
from soundalike.embed.musicnn_frontend import SAMPLE_RATE, musicnn_logmel, patches
from soundalike.embed.patch_embeddings import excerpt_means, patch_embeddings
from soundalike.embed.store import embedding_version, has_other_version, stale_tracks
from soundalike.ingest.audio import load
from soundalike.ingest.errors import DecodeError, IndexMismatchError
from soundalike.ingest.settings import Settings
from soundalike.ingest.track_features import mfcc_stats_vector


class EmbeddingModel(Protocol):
    """Turns catalogue tracks and outside files into unit-norm vectors."""

    name: str

    def refresh(self, session: Session, *, on_track: Callable[[], None] | None = None) -> tuple[int, str]:
        """Bring the stored embeddings up to date; returns (count written, model version)."""
        ...

    def embed_file(self, path: Path) -> np.ndarray:
        """Embedding of an audio file outside the catalogue."""
        ...

    def embed_excerpts(self, path: Path, n: int) -> np.ndarray:
        """(n, d) unit-norm embeddings of ``n`` consecutive, disjoint excerpts of the file."""
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

    def embed_excerpts(self, path: Path, n: int) -> np.ndarray:
        """MFCC statistics of each excerpt, standardised with the catalogue's parameters."""
        audio = load(path, sr=self.settings.sample_rate, max_bytes=self.settings.max_file_bytes)
        if audio.samples.size < n * audio.sample_rate:
            raise DecodeError(f"{path} is too short for {n} excerpts of at least 1 s")
        features = np.stack(
            [mfcc_stats_vector(y=part, sr=audio.sample_rate) for part in np.array_split(audio.samples, n)]
        )
        return mfcc_embedding.embed_features(features, mfcc_embedding.load_standardiser(self.settings.models_dir))


class MusicnnModel:
    """Pretrained MusiCNN (MSD) penultimate features, on the device it was given."""

    name = musicnn_encoder.MODEL_NAME

    def __init__(self, settings: Settings, device: torch.device) -> None:
        """The network is loaded on first use, on ``device``."""
        self.settings = settings
        self.device = device
        self._encoder: musicnn_encoder.PatchEncoder[torch.nn.Module] | None = None

    def _load(self) -> musicnn_encoder.PatchEncoder[torch.nn.Module]:
        return musicnn_runtime.msd_encoder(self.settings, self.device)

    @property
    def encoder(self) -> musicnn_encoder.PatchEncoder[torch.nn.Module]:
        """The loaded network."""
        if self._encoder is None:
            self._encoder = self._load()
        return self._encoder

    def refresh(self, session: Session, *, on_track: Callable[[], None] | None = None) -> tuple[int, str]:
        """Encode the tracks without a current embedding."""
        return musicnn_encoder.refresh_embeddings(session, self.encoder, on_track=on_track)

    def embed_file(self, path: Path) -> np.ndarray:
        """MusiCNN embedding of the file."""
        return self.encoder.encode_file(path, max_bytes=self.settings.max_file_bytes).embedding

    def embed_excerpts(self, path: Path, n: int) -> np.ndarray:
        """Mean penultimate features over the 3 s patches of each excerpt."""
        audio = load(path, sr=SAMPLE_RATE, max_bytes=self.settings.max_file_bytes)
        return excerpt_means(patch_embeddings(self.encoder.model, patches(musicnn_logmel(y=audio.samples))), n)


class AdaptedMusicnnModel(MusicnnModel):
    """MusiCNN with the contrastive projection head of ``train adapt``, only when evaluation kept it."""

    name = adapt.MODEL_NAME
    _head: torch.nn.Module | None = None

    def _load(self) -> musicnn_encoder.PatchEncoder[torch.nn.Module]:
        """Eager torch whatever the runtime: the head was trained on its features, under its version."""
        return musicnn_encoder.MusicnnEncoder(self.device)

    @property
    def head(self) -> torch.nn.Module:
        """The kept projection head (NotFoundError before ``train adapt``, ConfigError if it was discarded)."""
        if self._head is None:
            self._head = adapt.load_adapted(self.settings.models_dir)[1]
        return self._head

    def refresh(self, session: Session, *, on_track: Callable[[], None] | None = None) -> tuple[int, str]:
        """Embed the tracks without an embedding of the kept head."""
        return adapt.refresh_embeddings(session, self.settings, self.encoder.model, on_track=on_track)

    def embed_file(self, path: Path) -> np.ndarray:
        """Adapted embedding of the file."""
        audio = load(path, sr=SAMPLE_RATE, max_bytes=self.settings.max_file_bytes)
        return adapt.adapted_vector(self.encoder.model, self.head, audio.samples)

    def embed_excerpts(self, path: Path, n: int) -> np.ndarray:
        """The head applied to the mean penultimate features of each excerpt's patches."""
        audio = load(path, sr=SAMPLE_RATE, max_bytes=self.settings.max_file_bytes)
        per_patch = patch_embeddings(self.encoder.model, patches(musicnn_logmel(y=audio.samples)))
        if len(per_patch) < n:
            raise DecodeError(f"{len(per_patch)} patches cannot make {n} excerpts")
        return adapt.apply(self.head)(np.stack([part.mean(axis=0) for part in np.array_split(per_patch, n)]))


class TrainedCnnModel:
    """The CNN trained on the catalogue's labelled tracks (``soundalike train cnn``)."""

    name = trained_cnn.MODEL_NAME

    def __init__(self, settings: Settings) -> None:
        """The checkpoint is loaded on first use from the models folder."""
        self.settings = settings
        self._loaded: tuple[trained_cnn.CnnMeta, torch.nn.Module] | None = None

    @property
    def loaded(self) -> tuple[trained_cnn.CnnMeta, torch.nn.Module]:
        """(metadata, network in eval mode)."""
        if self._loaded is None:
            self._loaded = trained_cnn.load_trained_cnn(self.settings.models_dir)
        return self._loaded

    def _crops(self, path: Path) -> np.ndarray:
        meta, model = self.loaded
        return trained_cnn.crop_embeddings(model, trained_cnn.decode_logmel(path, self.settings), meta.crop_frames)

    def refresh(self, session: Session, *, on_track: Callable[[], None] | None = None) -> tuple[int, str]:
        """Embed the tracks without an embedding of the current checkpoint."""
        return trained_cnn.refresh_embeddings(session, self.settings, on_track=on_track)

    def embed_file(self, path: Path) -> np.ndarray:
        """Trained-CNN embedding of the file."""
        return trained_cnn.track_vector(self._crops(path))

    def embed_excerpts(self, path: Path, n: int) -> np.ndarray:
        """Mean crop embeddings of each excerpt."""
        return excerpt_means(self._crops(path), n)


class FusionModel:
    """Weighted blocks of stored features (MusiCNN, MFCC, chroma, rhythm...), each normalised on the catalogue."""

    name = fusion.MODEL_NAME

    def __init__(self, settings: Settings, device: torch.device) -> None:
        """Parse the blocks now (ConfigError for bad settings); networks load on first use, on ``device``."""
        self.settings = settings
        self.device = device
        self.blocks = fusion.parse_blocks(settings.fusion_blocks)
        self.networks = fusion_features.Networks(settings, device)

    def refresh(self, session: Session, *, on_track: Callable[[], None] | None = None) -> tuple[int, str]:
        """Compute missing block features, refit the normalisers and rewrite every embedding."""
        return fusion_features.refresh_embeddings(session, self.settings, self.networks, on_track=on_track)

    def _embed(self, path: Path, parts: int) -> np.ndarray:
        fitted = fusion.load_fusion(self.settings.models_dir, self.blocks)
        raw = fusion_features.audio_features(path, self.blocks, self.settings, self.networks, parts=parts)
        return fitted.embed(raw)

    def embed_file(self, path: Path) -> np.ndarray:
        """Fusion embedding of the file, normalised with the catalogue's parameters."""
        return self._embed(path, 1)[0]

    def embed_excerpts(self, path: Path, n: int) -> np.ndarray:
        """Fusion embeddings of ``n`` consecutive, disjoint pieces of the file."""
        return self._embed(path, n)


class ProjectedFusionModel(FusionModel):
    """The fusion embedding through the style map of ``train project``, only when evaluation kept it."""

    name = style_projection.MODEL_NAME

    def refresh(self, session: Session, *, on_track: Callable[[], None] | None = None) -> tuple[int, str]:
        """Bring the fusion embeddings up to date and project those without a current projection."""
        return style_projection.refresh_embeddings(session, self.settings, self.networks, on_track=on_track)

    def _embed(self, path: Path, parts: int) -> np.ndarray:
        fitted = fusion.load_fusion(self.settings.models_dir, self.blocks)
        style_map = style_projection.load_projection(self.settings.models_dir, fitted.version)[1]
        return style_projection.apply(style_map)(super()._embed(path, parts))


def embedding_model(settings: Settings, device: torch.device) -> EmbeddingModel:
    """The embedding model named by ``settings.embedding_model``; MusiCNN runs on ``device``.

    ConfigError when the model's own settings are wrong (``SOUNDALIKE_FUSION_BLOCKS``).
    """
    if settings.embedding_model == mfcc_embedding.MODEL_NAME:
        return MfccStatsModel(settings)
    if settings.embedding_model == trained_cnn.MODEL_NAME:
        return TrainedCnnModel(settings)
    if settings.embedding_model == adapt.MODEL_NAME:
        return AdaptedMusicnnModel(settings, device)
    if settings.embedding_model == fusion.MODEL_NAME:
        return FusionModel(settings, device)
    if settings.embedding_model == style_projection.MODEL_NAME:
        return ProjectedFusionModel(settings, device)
    return MusicnnModel(settings, device)


def check_cnn_runtime(session: Session, settings: Settings, device: torch.device) -> None:
    """IndexMismatchError when the catalogue's MSD MusiCNN vectors were made with another runtime or patch count
    than this process would use for outside audio (``SOUNDALIKE_CNN_RUNTIME``, ``SOUNDALIKE_MUSICNN_PATCHES``)."""
    if settings.embedding_model != musicnn_encoder.MODEL_NAME and not fusion_features.settings_need_msd(settings):
        return
    expected = musicnn_runtime.msd_version(settings, device)
    if has_other_version(session, musicnn_encoder.MODEL_NAME, expected):
        stored = embedding_version(session, musicnn_encoder.MODEL_NAME)
        raise IndexMismatchError(
            f"the catalogue's MusiCNN vectors are version {stored}, this process makes {expected} "
            "(SOUNDALIKE_CNN_RUNTIME, SOUNDALIKE_MUSICNN_PATCHES): run `soundalike index build` with these settings"
        )


def embed_missing(session: Session, model: EmbeddingModel, *, on_track: Callable[[], None] | None = None) -> int:
    """Bring ``model``'s embeddings up to date (as ``index build`` does) when a playable track lacks a current one;
    returns how many were written, 0 when none lacked one."""
    version = embedding_version(session, model.name)
    if version is not None and not stale_tracks(session, model.name, version):
        return 0
    return model.refresh(session, on_track=on_track)[0]
