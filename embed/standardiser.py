"""Per-dimension standardisation fitted on the catalogue, kept as arrays for an .npz beside the other models."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Standardiser:
    """Per-dimension mean and scale fitted on the catalogue."""

    mean: np.ndarray
    scale: np.ndarray

    def apply(self, matrix: np.ndarray) -> np.ndarray:
        """Rows with the mean removed and divided by the scale."""
        return (np.atleast_2d(matrix) - self.mean) / self.scale

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The parameters by name, for ``np.savez``; ``prefix`` keeps several standardisers apart in one file."""
        return {f"{prefix}mean": self.mean, f"{prefix}scale": self.scale}

    @classmethod
    def from_arrays(cls, data: Mapping[str, np.ndarray], prefix: str = "") -> Standardiser:
        """The standardiser saved by ``arrays`` under ``prefix``."""
        return cls(np.asarray(data[f"{prefix}mean"]), np.asarray(data[f"{prefix}scale"]))


def fingerprint(*arrays: np.ndarray) -> str:
    """Eight hex digits that change when any of the arrays does (for model versions)."""
    digest = hashlib.blake2b(digest_size=4)
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def fit_standardiser(matrix: np.ndarray) -> Standardiser:
    """Fit mean and standard deviation per dimension (zero spread is treated as 1)."""
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise ValueError(f"need a non-empty (n, d) matrix, got shape {matrix.shape}")
    scale = matrix.std(axis=0)
    scale[scale < 1e-8] = 1.0
    return Standardiser(matrix.mean(axis=0).astype(np.float32), scale.astype(np.float32))
