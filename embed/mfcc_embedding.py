"""The baseline embedding: MFCC statistics, standardised over the catalogue, L2-normalised."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.store import replace_embeddings
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.errors import NotFoundError
from soundalike.ingest.repository import feature_matrix
from soundalike.ingest.track_features import MFCC_STATS_NAME, MFCC_STATS_VERSION

MODEL_NAME = "mfcc-stats"
SCALER_FILE = "mfcc-stats-scaler.npz"


@dataclass(frozen=True)
class Standardiser:
    """Per-dimension mean and scale fitted on the catalogue."""

    mean: np.ndarray
    scale: np.ndarray

    @property
    def version(self) -> str:
        """Model version: feature version plus a fingerprint of the fitted parameters."""
        digest = hashlib.blake2b(self.mean.tobytes() + self.scale.tobytes(), digest_size=4).hexdigest()
        return f"{MFCC_STATS_VERSION}-{digest}"


def fit_standardiser(matrix: np.ndarray) -> Standardiser:
    """Fit mean and standard deviation per dimension (zero spread is treated as 1)."""
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise ValueError(f"need a non-empty (n, d) matrix, got shape {matrix.shape}")
    scale = matrix.std(axis=0)
    scale[scale < 1e-8] = 1.0
    return Standardiser(matrix.mean(axis=0).astype(np.float32), scale.astype(np.float32))


def embed_features(matrix: np.ndarray, standardiser: Standardiser) -> np.ndarray:
    """Standardise rows, then scale each to unit L2 norm (cosine = inner product)."""
    z = (np.atleast_2d(matrix) - standardiser.mean) / standardiser.scale
    return unit_rows(z)


def save_standardiser(standardiser: Standardiser, models_dir: Path) -> Path:
    """Write the fitted parameters as .npz next to the other models."""
    models_dir.mkdir(parents=True, exist_ok=True)
    path = models_dir / SCALER_FILE
    np.savez(path, mean=standardiser.mean, scale=standardiser.scale)
    return path


def load_standardiser(models_dir: Path) -> Standardiser:
    """Read the fitted parameters; NotFoundError before the first ``index build``."""
    path = models_dir / SCALER_FILE
    if not path.exists():
        raise NotFoundError(f"{path} does not exist (run `soundalike index build` first)")
    with np.load(path, allow_pickle=False) as data:
        return Standardiser(data["mean"], data["scale"])


def refresh_embeddings(session: Session, models_dir: Path) -> tuple[int, str]:
    """Refit the standardiser on every ok track and rewrite the embeddings; returns (count, version)."""
    ids, matrix = feature_matrix(session, MFCC_STATS_NAME)
    if len(ids) == 0:
        raise NotFoundError("no analysed tracks to embed (run `soundalike ingest PATH` first)")
    standardiser = fit_standardiser(matrix)
    save_standardiser(standardiser, models_dir)
    count = replace_embeddings(session, MODEL_NAME, standardiser.version, ids, embed_features(matrix, standardiser))
    return count, standardiser.version
