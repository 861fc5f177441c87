"""Per-patch embeddings of a network over log-mel patches, and their pooling into excerpts."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.errors import DecodeError

BATCH_PATCHES = 32


def patch_embeddings(model: nn.Module, logmel_patches: np.ndarray, *, pooled: bool = False) -> np.ndarray:
    """(n, d) MusiCNN (or student) features of (n, frames, 96) patches: penultimate (200) or pooled mid-level (1506).

    A network without parameters (MusiCNN through ONNX Runtime) runs on the CPU."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(logmel_patches), BATCH_PATCHES):
            batch = torch.from_numpy(np.ascontiguousarray(logmel_patches[start : start + BATCH_PATCHES]))
            out = model(batch.to(device))
            outputs.append((out.pooled if pooled else out.penultimate).float().cpu().numpy())
    width = 1506 if pooled else 200
    return np.concatenate(outputs) if outputs else np.zeros((0, width), dtype=np.float32)


def segment_means(per_patch: np.ndarray, n: int) -> np.ndarray:
    """(min(n, patches), d) float32 means of as many consecutive, disjoint runs of patches (sizes differ by one)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if len(per_patch) == 0:
        raise DecodeError("no patches to pool")
    runs = np.array_split(per_patch, min(n, len(per_patch)))
    return np.stack([part.mean(axis=0) for part in runs]).astype(np.float32)


def excerpt_means(per_patch: np.ndarray, n: int) -> np.ndarray:
    """(n, d) unit-norm means of ``n`` consecutive, disjoint runs of patches; DecodeError if too few."""
    if n >= 1 and len(per_patch) < n:
        raise DecodeError(f"{len(per_patch)} patches cannot make {n} excerpts")
    return unit_rows(segment_means(per_patch, n))
