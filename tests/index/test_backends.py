"""The index backend follows the process's torch device, resolved once and passed to the factory."""

from __future__ import annotations

import faiss
import pytest
import torch

from soundalike.index.backends import CpuBackend, GpuBackend, resolve_index_backend


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
