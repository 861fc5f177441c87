"""Search-parameter tuning: the cheapest ``efSearch``/``nprobe`` that meets a recall target."""

from __future__ import annotations

import faiss
import numpy as np

from soundalike.index.backends import search_parameters
from soundalike.index.spec import IndexSpec

EF_SEARCH_GRID = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)


class ExactNeighbours:
    """Exact top-(k+1) of a few queries, accumulated chunk by chunk while the index is filled."""

    def __init__(self, queries: np.ndarray, query_ids: np.ndarray, k: int, metric: str) -> None:
        """Ground truth for ``queries`` (rows of the catalogue itself, identified by ``query_ids``)."""
        self.queries, self.query_ids, self.k = queries, query_ids, k
        self.faiss_metric = faiss.METRIC_INNER_PRODUCT if metric == "cosine" else faiss.METRIC_L2
        self.heap = faiss.ResultHeap(len(queries), k + 1, keep_max=metric == "cosine")

    def add(self, track_ids: np.ndarray, vectors: np.ndarray) -> None:
        """Merge one chunk of catalogue vectors into the running top lists."""
        if len(self.queries) == 0 or len(vectors) == 0:
            return
        scores, rows = faiss.knn(self.queries, vectors, min(self.k + 1, len(vectors)), metric=self.faiss_metric)
        self.heap.add_result(scores, np.where(rows >= 0, track_ids[np.maximum(rows, 0)], -1))

    def truth(self) -> np.ndarray:
        """(queries, k) exact neighbour ids, each query's own id left out."""
        if len(self.queries) == 0:
            return np.zeros((0, self.k), dtype=np.int64)
        self.heap.finalize()
        return without_self(self.heap.I, self.query_ids, self.k)


def without_self(ids: np.ndarray, query_ids: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` ids of each row other than the row's own query id (padded with -1)."""
    out = np.full((len(ids), k), -1, dtype=np.int64)
    for row, (found, own) in enumerate(zip(ids, query_ids, strict=True)):
        others = found[found != own][:k]
        out[row, : len(others)] = others
    return out


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of each row's true neighbours (ids >= 0) that ``found`` contains."""
    hits = [
        len(set(f[f >= 0]) & set(t[t >= 0])) / max(int((t >= 0).sum()), 1) for f, t in zip(found, truth, strict=True)
    ]
    return float(np.mean(hits)) if hits else 1.0


def candidate_params(spec: IndexSpec) -> list[dict[str, int]]:
    """Search settings to try, cheapest first."""
    if spec.kind == "hnsw":
        return [{"efSearch": ef} for ef in EF_SEARCH_GRID]
    if spec.is_ivf:
        probes = [p for p in (2**n for n in range(20)) if p < spec.nlist] + [spec.nlist]
        return [{"nlist": spec.nlist, "nprobe": p} for p in probes]
    return [{}]


def tune(
    index: faiss.Index,
    spec: IndexSpec,
    queries: np.ndarray,
    query_ids: np.ndarray,
    truth: np.ndarray,
    *,
    target: float,
) -> tuple[dict[str, int], float]:
    """The first candidate whose recall@k on ``queries`` reaches ``target`` (or the best tried), with its recall."""
    k = truth.shape[1]
    if len(queries) == 0:
        return candidate_params(spec)[0], 1.0
    best: tuple[dict[str, int], float] | None = None
    for params in candidate_params(spec):
        _, found = index.search(queries, k + 1, params=search_parameters(spec, params, None))
        recall = recall_at_k(without_self(found, query_ids, k), truth)
        if best is None or recall > best[1]:
            best = (params, recall)
        if recall >= target:
            return params, recall
    assert best is not None
    return best
