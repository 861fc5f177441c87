"""Pure ranking helpers over index search results."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from soundalike.index.track_index import TrackIndex


def top_k(index: TrackIndex, query: np.ndarray, k: int, *, exclude: Collection[int] = ()) -> list[tuple[int, float]]:
    """The ``k`` best (track_id, score) for one query vector, skipping ``exclude`` ids."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    ids, scores = index.search(query, k + len(exclude))
    ranked = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0 and int(i) not in exclude]
    return ranked[:k]


def unit(vector: np.ndarray) -> np.ndarray:
    """The vector scaled to unit L2 norm (zero stays zero)."""
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else vector.astype(np.float32)
