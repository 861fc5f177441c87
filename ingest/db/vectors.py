"""float32 vectors stored as bytes in SQL."""

from __future__ import annotations

import numpy as np


def to_blob(vector: np.ndarray) -> bytes:
    """Little-endian float32 bytes of a 1-D vector."""
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes, dim: int) -> np.ndarray:
    """The float32 vector stored by ``to_blob``; checks the length against ``dim``."""
    vector = np.frombuffer(blob, dtype="<f4")
    if vector.size != dim:
        raise ValueError(f"stored vector has {vector.size} values, expected dim={dim}")
    return vector.astype(np.float32)
