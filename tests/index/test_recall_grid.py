"""Recall@10 against exact search over a grid of index kind x metric x dim, on CPU and (when present) GPU."""

from __future__ import annotations

import faiss
import numpy as np
import pytest
import torch

from soundalike.index.backends import CpuBackend, IndexBackend, resolve_index_backend
from soundalike.index.streamed_build import BuildOptions, build_index
from soundalike.index.tuning import recall_at_k

from support.index_helpers import clustered, exact_top

# Minimum recall@10 per kind: Flat is exact (float ties aside); the approximate kinds are tuned to 0.95
# on a sample of catalogue queries, so fresh queries may land a little under it.
MIN_RECALL = {"flat": 0.99, "hnsw": 0.9, "ivf_flat": 0.9, "ivf_sq8": 0.88, "ivf_pq": 0.4}


def backend_for(device: str) -> IndexBackend:
    if device == "cuda":
        if faiss.get_num_gpus() < 1:
            pytest.skip("needs a CUDA device")
        return resolve_index_backend(torch.device("cuda"))
    return CpuBackend()


DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dim", [16, 200])
@pytest.mark.parametrize("metric", ["cosine", "l2"])
@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf_flat", "ivf_sq8"])
def test_recall_at_10_against_exact_search(kind: str, metric: str, dim: int, device: str) -> None:
    backend = backend_for(device)
    if device == "cuda" and kind == "hnsw":
        pytest.skip("FAISS has no GPU HNSW; spec refuses it (see test_spec)")
    rng = np.random.default_rng(dim)
    vectors = clustered(rng, 3000, dim)
    ids = rng.choice(100_000, size=3000, replace=False).astype(np.int64)
    queries = clustered(np.random.default_rng(dim), 60, dim)[::-1].copy() + 0.05 * rng.standard_normal((60, dim))
    options = BuildOptions(kind=kind, metric=metric, tuning_queries=100)
    index = build_index(ids, vectors, model_name="m", model_version="1", options=options, backend=backend)
    found, scores = index.search(queries.astype(np.float32), 10)
    recall = recall_at_k(found, exact_top(queries, vectors, ids, 10, metric))
    assert recall >= MIN_RECALL[kind], f"{kind}/{metric}/{dim}: recall {recall:.3f} params {index.meta.params}"
    ordered = np.diff(scores, axis=1)
    assert np.all(ordered <= 1e-5) if metric == "cosine" else np.all(ordered >= -1e-5)
    if kind != "flat":
        assert index.meta.tuned_recall is not None and index.meta.params


@pytest.mark.slow
def test_ivf_pq_recall_meets_its_stated_floor() -> None:
    rng = np.random.default_rng(5)
    vectors = clustered(rng, 12_000, 16)
    ids = np.arange(12_000, dtype=np.int64)
    index = build_index(ids, vectors, model_name="m", model_version="1", options=BuildOptions(kind="ivf_pq"))
    queries = vectors[:50] + 0.05 * rng.standard_normal((50, 16)).astype(np.float32)
    found, _ = index.search(queries, 10)
    assert recall_at_k(found, exact_top(queries, vectors, ids, 10, "cosine")) >= MIN_RECALL["ivf_pq"]
