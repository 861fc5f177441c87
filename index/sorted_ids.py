"""Looking track ids up in a sorted id array by binary search (no per-call sort of the catalogue)."""

from __future__ import annotations

import numpy as np

ABSENT = -1


def positions(sorted_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in the sorted, unique ``sorted_ids``; ``ABSENT`` (-1) where it is not there."""
    values = np.asarray(values, dtype=np.int64)
    if not len(sorted_ids) or not len(values):
        return np.full(len(values), ABSENT, dtype=np.int64)
    at = np.minimum(np.searchsorted(sorted_ids, values), len(sorted_ids) - 1)
    return np.where(sorted_ids[at] == values, at, ABSENT)
