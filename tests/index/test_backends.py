"""The index backend follows the process's torch device, resolved once and passed to the factory."""

from __future__ import annotations

import faiss
import numpy as np
import pytest
import torch

from soundalike.index.backends import CpuBackend, GpuBackend, StaleSet, resolve_index_backend
from soundalike.index.streamed_build import build_index

from support.index_helpers import clustered


def test_a_cpu_device_keeps_the_index_on_the_cpu_even_where_faiss_sees_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 2)
    backend = resolve_index_backend(torch.device("cpu"))
    assert isinstance(backend, CpuBackend) and backend.device == torch.device("cpu")


def test_a_cuda_device_without_faiss_gpus_keeps_the_index_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faiss, "get_num_gpus", lambda: 0)
    backend = resolve_index_backend(torch.device("cuda"))
    assert isinstance(backend, CpuBackend) and backend.device == torch.device("cpu")


@pytest.mark.gpu
def test_a_cuda_device_with_faiss_gpus_places_indexes_on_them() -> None:
    if not hasattr(faiss, "StandardGpuResources") or faiss.get_num_gpus() < 1:
        pytest.skip("needs faiss-gpu and a CUDA device")
    backend = resolve_index_backend(torch.device("cuda"))
    assert isinstance(backend, GpuBackend) and backend.device == torch.device("cuda")


def test_backend_search_answers_track_ids_first_then_scores() -> None:
    vectors = clustered(np.random.default_rng(0), 40, 8)
    track_ids = np.arange(40, dtype=np.int64) * 1000 + 7
    built = build_index(track_ids, vectors, model_name="m", model_version="1")
    ids, scores = CpuBackend().search(
        built.index, vectors[:3], 4, built.meta.spec, built.meta.params, StaleSet([track_ids[0]])
    )
    assert ids.dtype == np.int64 and np.isin(ids, track_ids[1:]).all()
    assert scores.dtype == np.float32 and np.all(np.diff(scores, axis=1) <= 1e-6)
