"""Embeddings projected to two dimensions on their first two principal axes, for maps and plots."""

from __future__ import annotations

import numpy as np


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """(n, 2) coordinates of the rows on their first two principal components (zero-padded when fewer exist)."""
    matrix = np.asarray(vectors, dtype=np.float64)
    if len(matrix) == 0:
        return np.zeros((0, 2))
    centred = matrix - matrix.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ axes[:2].T
    return np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
