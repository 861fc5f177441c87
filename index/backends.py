"""Where the index lives: CPU or CUDA GPUs, chosen once from the process's torch device and passed down.

Both backends answer the same questions: place a CPU index on the device, bring it back to the
CPU for saving, and search with deleted tracks left out. The CPU backend filters with a FAISS id
selector inside the search; GPU indexes take no selector, so the GPU backend over-fetches and
drops stale ids afterwards (``post_filter``), a path the tests run on CPU indexes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import faiss
import numpy as np
import torch

from soundalike.index.shards import combine_shards, shard_list
from soundalike.index.spec import IndexSpec

GPU_MAX_K = 2048


class StaleSet:
    """Indexed ids that searches must skip (deleted tracks, changed vectors), with a reusable selector."""

    def __init__(self, ids: Iterable[int] = ()) -> None:
        """Sorted unique ids, and the FAISS selector that excludes them (built once)."""
        self.ids = np.unique(np.fromiter((int(i) for i in ids), dtype=np.int64))
        self._batch = faiss.IDSelectorBatch(self.ids) if len(self.ids) else None
        self.selector = faiss.IDSelectorNot(self._batch) if self._batch is not None else None

    def __len__(self) -> int:
        """Number of stale ids."""
        return len(self.ids)

    def __contains__(self, track_id: object) -> bool:
        """Whether ``track_id`` is stale."""
        return isinstance(track_id, int | np.integer) and bool(np.isin(track_id, self.ids))


class IndexBackend(Protocol):
    """A device that holds indexes."""

    name: str
    device: torch.device

    def place(self, index: faiss.Index, spec: IndexSpec, params: dict[str, int]) -> faiss.Index:
        """The index ready to search on this device (the CPU index itself on the CPU)."""
        ...

    def to_cpu(self, index: faiss.Index) -> faiss.Index:
        """A CPU copy of a placed index, for saving."""
        ...

    def search(
        self,
        index: faiss.Index,
        queries: np.ndarray,
        k: int,
        spec: IndexSpec,
        params: dict[str, int],
        stale: StaleSet,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(track_ids, scores) of the ``k`` best non-stale rows per query."""
        ...


def search_parameters(
    spec: IndexSpec, params: dict[str, int], selector: faiss.IDSelector | None
) -> faiss.SearchParameters | None:
    """FAISS search parameters carrying the tuned ``efSearch``/``nprobe`` and an optional id selector."""
    if spec.kind == "hnsw":
        out: faiss.SearchParameters = faiss.SearchParametersHNSW(efSearch=params.get("efSearch", 16))  # type: ignore[attr-defined]
    elif spec.is_ivf:
        out = faiss.SearchParametersIVF(nprobe=params.get("nprobe", 1))  # type: ignore[call-arg]
    elif selector is None:
        return None
    else:
        out = faiss.SearchParameters()
    if selector is not None:
        out.sel = selector
    return out


def post_filter(
    ids: np.ndarray, scores: np.ndarray, stale: StaleSet, k: int, *, fill: float
) -> tuple[np.ndarray, np.ndarray]:
    """Drop stale ids from over-fetched results and keep the ``k`` best; empty slots get id -1, score ``fill``."""
    out_ids = np.full((len(ids), k), -1, dtype=np.int64)
    out_scores = np.full((len(ids), k), fill, dtype=np.float32)
    for row in range(len(ids)):
        keep = (ids[row] >= 0) & ~np.isin(ids[row], stale.ids)
        kept_ids, kept_scores = ids[row][keep][:k], scores[row][keep][:k]
        out_ids[row, : len(kept_ids)] = kept_ids
        out_scores[row, : len(kept_scores)] = kept_scores
    return out_ids, out_scores


class CpuBackend:
    """Indexes in main memory; stale ids are excluded by an id selector inside the search."""

    name = "cpu"
    device = torch.device("cpu")

    def place(self, index: faiss.Index, spec: IndexSpec, params: dict[str, int]) -> faiss.Index:
        """The index itself."""
        return index

    def to_cpu(self, index: faiss.Index) -> faiss.Index:
        """The index itself."""
        return index

    def search(
        self,
        index: faiss.Index,
        queries: np.ndarray,
        k: int,
        spec: IndexSpec,
        params: dict[str, int],
        stale: StaleSet,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Search with ``IDSelectorNot(IDSelectorBatch(stale))`` when anything is stale."""
        scores, ids = index.search(queries, k, params=search_parameters(spec, params, stale.selector))
        return ids, scores


class GpuBackend:
    """Indexes on CUDA GPUs (faiss-gpu): one GPU, or shards spread over all of them."""

    name = "cuda"
    device = torch.device("cuda")

    def __init__(self, gpus: int) -> None:
        """One FAISS resource object per GPU, made once."""
        self.gpus = gpus
        self.resources = [faiss.StandardGpuResources() for _ in range(gpus)]

    def place(self, index: faiss.Index, spec: IndexSpec, params: dict[str, int]) -> faiss.Index:
        """Copy the index (or each of its shards, round-robin over the GPUs) to GPU memory."""
        parts = shard_list(index)
        gpu: list[faiss.Index] = [
            faiss.index_cpu_to_gpu(self.resources[n % self.gpus], n % self.gpus, p) for n, p in enumerate(parts)
        ]
        placed = combine_shards(gpu)
        if spec.is_ivf:
            faiss.GpuParameterSpace().set_index_parameter(placed, "nprobe", params.get("nprobe", 1))
        return placed

    def to_cpu(self, index: faiss.Index) -> faiss.Index:
        """A CPU copy of a GPU index."""
        return faiss.index_gpu_to_cpu(index)

    def search(
        self,
        index: faiss.Index,
        queries: np.ndarray,
        k: int,
        spec: IndexSpec,
        params: dict[str, int],
        stale: StaleSet,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Over-fetch by the stale count (up to the GPU's k limit), then ``post_filter``."""
        fetch = min(k + len(stale), GPU_MAX_K, max(index.ntotal, 1))
        scores, ids = index.search(queries, fetch)
        if not len(stale):
            return ids, scores
        return post_filter(ids, scores, stale, k, fill=-np.inf if spec.metric == "cosine" else np.inf)


def resolve_index_backend(device: torch.device) -> IndexBackend:
    """The backend for the process's torch device: GPUs when it is CUDA and faiss-gpu sees them, else the CPU.

    A CUDA device without faiss-gpu (the default install has faiss-cpu; GPUs need the [gpu] extra)
    keeps its index on the CPU.
    """
    if device.type != "cuda":
        return CpuBackend()
    gpus = faiss.get_num_gpus() if hasattr(faiss, "StandardGpuResources") else 0
    return GpuBackend(gpus) if gpus > 0 else CpuBackend()
