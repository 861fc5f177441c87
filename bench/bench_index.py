"""Index benchmark: recall@10 against exact search and QPS as a ratio to exact Flat, same run, same machine.

Each (size, kind) runs in a fresh process so its peak RSS is its own. Data: clustered synthetic
unit vectors (1000 Gaussian clusters in 200-d); queries are fresh draws from the same clusters,
ground truth is exact Flat search over a few hundred queries. Usage:
``python bench/bench_index.py --sizes 100000 1000000 --kinds hnsw ivf_sq8 --repeats 3``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import statistics
import time

import faiss
import numpy as np

from soundalike.index.builder import BuildOptions, build_index
from soundalike.index.tuning import recall_at_k

DIM, CLUSTERS, QUERIES, K = 200, 1000, 300, 10


def clustered(n: int, seed: int) -> np.ndarray:
    """``n`` unit vectors around ``CLUSTERS`` fixed centres (the same centres for every seed)."""
    centres = np.random.default_rng(12345).standard_normal((CLUSTERS, DIM)).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        out[start:stop] = centres[rng.integers(0, CLUSTERS, stop - start)]
        out[start:stop] += 0.35 * rng.standard_normal((stop - start, DIM)).astype(np.float32)
    faiss.normalize_L2(out)
    return out


def qps(search: object, queries: np.ndarray, repeats: int) -> float:
    """Median queries per second of ``search(queries)`` over ``repeats`` batch runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        search(queries)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return len(queries) / statistics.median(times)


def run_one(n: int, kind: str, repeats: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """Build one index, measure it against exact Flat over the same vectors."""
    vectors, queries = clustered(n, seed=1), clustered(QUERIES, seed=2)
    ids = np.arange(n, dtype=np.int64)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    index = build_index(ids, vectors, model_name="bench", model_version="1", options=BuildOptions(kind=kind))
    build_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    exact = faiss.IndexFlatIP(DIM)
    exact.add(vectors)
    _, truth = exact.search(queries, K)
    found, _ = index.search(queries, K)
    flat_qps = qps(lambda q: exact.search(q, K), queries, repeats)
    kind_qps = qps(lambda q: index.search(q, K), queries, repeats)
    out.put(
        {
            "n": n,
            "kind": kind,
            "factory": index.meta.factory,
            "params": index.meta.params,
            "tuned_recall": index.meta.tuned_recall,
            "recall@10": recall_at_k(found, truth),
            "qps": kind_qps,
            "flat_qps": flat_qps,
            "qps_ratio": kind_qps / flat_qps,
            "build_s": build_s,
            "peak_rss_mb": peak_mb,
            "rss_before_build_mb": rss_before / 1024,
        }
    )


def main() -> None:
    """Run the grid and print one JSON line per configuration."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=["flat", "ivf_sq8", "ivf_flat", "hnsw"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    context = mp.get_context("spawn")
    for n in args.sizes:
        for kind in args.kinds:
            queue: mp.Queue = context.Queue()  # type: ignore[type-arg]
            process = context.Process(target=run_one, args=(n, kind, args.repeats, queue))
            process.start()
            print(json.dumps(queue.get()), flush=True)
            process.join()


if __name__ == "__main__":
    main()
