"""The baseline embedding: MFCC statistics, standardised over the catalogue, L2-normalised."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.standardiser import Standardiser, fingerprint, fit_standardiser
from soundalike.embed.store import replace_embeddings
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.atomic_files import atomic_write_npz
from soundalike.ingest.errors import NotFoundError, PreconditionError
from soundalike.ingest.repository import feature_matrix
from soundalike.ingest.track_features import MFCC_STATS_NAME, MFCC_STATS_VERSION

MODEL_NAME = "mfcc-stats"
SCALER_FILE = "mfcc-stats-scaler.npz"


def model_version(standardiser: Standardiser) -> str:
    """Model version: feature version plus a fingerprint of the fitted parameters."""
    return f"{MFCC_STATS_VERSION}-{fingerprint(standardiser.mean, standardiser.scale)}"


def embed_features(matrix: np.ndarray, standardiser: Standardiser) -> np.ndarray:
    """Standardise rows, then scale each to unit L2 norm (cosine = inner product)."""
    return unit_rows(standardiser.apply(matrix))


def save_standardiser(standardiser: Standardiser, models_dir: Path) -> Path:
    """Write the fitted parameters as .npz next to the other models, atomically."""
    return atomic_write_npz(models_dir / SCALER_FILE, standardiser.arrays())


def load_standardiser(models_dir: Path) -> Standardiser:
    """Read the fitted parameters; NotFoundError before the first ``index build``."""
    path = models_dir / SCALER_FILE
    if not path.exists():
        raise NotFoundError(f"{path} does not exist (run `soundalike index build` first)")
    with np.load(path, allow_pickle=False) as data:
        return Standardiser.from_arrays(data)


def refresh_embeddings(session: Session, models_dir: Path) -> tuple[int, str]:
    """Refit the standardiser on every ok track and rewrite the embeddings; returns (count, version)."""
    ids, matrix = feature_matrix(session, MFCC_STATS_NAME)
    if len(ids) == 0:
        raise PreconditionError("no analysed tracks to embed (run `soundalike ingest PATH` first)")
    standardiser = fit_standardiser(matrix)
    save_standardiser(standardiser, models_dir)
    version = model_version(standardiser)
    return replace_embeddings(session, MODEL_NAME, version, ids, embed_features(matrix, standardiser)), version
