"""Index benchmark: recall@10 against exact search and QPS as a ratio to exact Flat, same process, same machine.

Two data sets of 200-d unit vectors, each with fresh queries drawn from the same generator:

- ``synthetic``: ``CENTRES`` overlapping clusters in a ``LATENT``-d subspace (decaying scales) mapped
  to 200-d plus isotropic noise; cluster sizes are heavy-tailed (Pareto weights) and each cluster's
  spread is drawn around its centre's nearest-centre distance, so exact neighbours cross IVF cells.
- ``musicnn``: per-patch 200-d MusiCNN (MSD) penultimate embeddings of a real rendered corpus
  (10 patches of 3 s per 30 s track), replicated: each vector moves a random fraction of the way to
  one of its base vector's 10 nearest base neighbours, plus Gaussian noise whose norm is
  ``NOISE_SCALE`` times the base set's median nearest-neighbour distance, then is normalised.

Each (data, size, kind) runs in a fresh process. The index is built once through the project
builder (training, adding and recall tuning included in the build time); the build's peak RSS is
sampled from /proc during the build. Ground truth: exact Flat over the same vectors. QPS: median of
``--repeats`` timings, queries sent ``--batch`` at a time on ``--threads`` FAISS threads, the same
batch and threads for Flat and the candidate (Flat is timed on its first ``FLAT_TIMED_QUERIES``).
Usage: ``python bench/bench_index.py --data synthetic musicnn --sizes 100000 --kinds ivf_flat hnsw``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

from soundalike.index.backends import search_parameters
from soundalike.index.streamed_build import BuildOptions, build_index
from soundalike.index.tuning import candidate_params, recall_at_k

DIM, LATENT, CENTRES, QUERIES, K = 200, 48, 3000, 300, 10
FLAT_TIMED_QUERIES = 100
NOISE_SCALE = 0.5
CHUNK = 100_000
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def synthetic(n: int, seed: int) -> np.ndarray:
    """``n`` unit vectors from overlapping, heavy-tailed clusters (the same clusters for every seed)."""
    fixed = np.random.default_rng(12345)
    scales = np.geomspace(1.0, 0.1, LATENT).astype(np.float32)
    centres = fixed.standard_normal((CENTRES, LATENT)).astype(np.float32) * scales
    weights = fixed.pareto(1.2, CENTRES) + 1.0
    weights /= weights.sum()
    nearest = np.sqrt(np.partition(faiss.pairwise_distances(centres, centres), 1, axis=1)[:, 1])
    spread = (nearest * fixed.lognormal(-0.6, 0.3, CENTRES) / np.sqrt(LATENT)).astype(np.float32)
    mixing = fixed.standard_normal((LATENT, DIM)).astype(np.float32) / np.sqrt(LATENT)
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        cluster = rng.choice(CENTRES, stop - start, p=weights)
        latent = centres[cluster] + spread[cluster, None] * rng.standard_normal((stop - start, LATENT), np.float32)
        out[start:stop] = latent @ mixing + 0.05 * rng.standard_normal((stop - start, DIM), np.float32)
    faiss.normalize_L2(out)
    return out


def musicnn_patches(corpus: Path) -> np.ndarray:
    """Unit-norm 200-d MusiCNN penultimate embedding of every 3 s patch of every audio file in ``corpus``."""
    import torch

    from soundalike.embed.musicnn_encoder import MusicnnEncoder
    from soundalike.embed.musicnn_frontend import SAMPLE_RATE
    from soundalike.embed.musicnn_frontend import musicnn_patches as logmel_patches
    from soundalike.ingest.audio import load

    encoder = MusicnnEncoder(torch.device("cpu"))
    vectors = []
    for path in sorted(p for p in corpus.rglob("*") if p.suffix in {".ogg", ".flac", ".wav", ".mp3"}):
        batch = torch.from_numpy(logmel_patches(y=load(path, sr=SAMPLE_RATE).samples))
        with torch.inference_mode():
            vectors.append(encoder.model(batch).penultimate.float().numpy())
    out = np.ascontiguousarray(np.concatenate(vectors), dtype=np.float32)
    faiss.normalize_L2(out)
    return out


def replicated(base: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` unit vectors around ``base``: toward a random base neighbour, plus noise scaled to NN distances."""
    distances, neighbours = faiss.knn(base, base, 11)
    noise = NOISE_SCALE * float(np.median(np.sqrt(np.maximum(distances[:, 1], 0)))) / np.sqrt(DIM)
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        rows = rng.integers(0, len(base), stop - start)
        towards = base[neighbours[rows, rng.integers(1, 11, stop - start)]]
        step = rng.uniform(0.0, 0.5, (stop - start, 1)).astype(np.float32)
        out[start:stop] = base[rows] + step * (towards - base[rows])
        out[start:stop] += noise * rng.standard_normal((stop - start, DIM), np.float32)
    faiss.normalize_L2(out)
    return out


def rss_mb() -> float:
    """This process's resident set size now."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE_MB


class PeakRss:
    """Highest RSS sampled every 20 ms while the block runs."""

    def __enter__(self) -> PeakRss:
        self.peak, self.done = rss_mb(), threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def sample(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, rss_mb())


def qps(search: Callable[[np.ndarray], object], queries: np.ndarray, batch: int, repeats: int) -> float:
    """Median queries per second of ``search`` over ``repeats`` passes, ``batch`` queries per call."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for lo in range(0, len(queries), batch):
            search(queries[lo : lo + batch])
        times.append(time.perf_counter() - start)
    return len(queries) / statistics.median(times)


def dataset(data: str, n: int, seed: int, base_path: Path) -> np.ndarray:
    """``n`` vectors of the named data set."""
    if data == "synthetic":
        return synthetic(n, seed)
    return replicated(np.load(base_path), n, seed)


def run_one(data: str, n: int, kind: str, args: argparse.Namespace, out: mp.Queue) -> None:
    """Build one index, measure it against exact Flat over the same vectors."""
    vectors, queries = dataset(data, n, 1, args.base), dataset(data, QUERIES, 2, args.base)
    ids = np.arange(n, dtype=np.int64)
    data_mb = rss_mb()
    with PeakRss() as peak:
        start = time.perf_counter()
        index = build_index(ids, vectors, model_name="bench", model_version="1", options=BuildOptions(kind=kind))
        build_s = time.perf_counter() - start
    exact = faiss.IndexFlatIP(DIM)
    exact.add(vectors)
    _, truth = exact.search(queries, K)
    found, _ = index.search(queries, K)
    spec = index.meta.spec
    cheapest = candidate_params(spec)[0]
    _, cheap_found = index.index.search(queries, K, params=search_parameters(spec, cheapest, None))
    faiss.omp_set_num_threads(args.threads)
    flat_qps = qps(lambda q: exact.search(q, K), queries[:FLAT_TIMED_QUERIES], args.batch, args.repeats)
    kind_qps = qps(lambda q: index.search(q, K), queries, args.batch, args.repeats)
    out.put(
        {
            "data": data,
            "n": n,
            "kind": kind,
            "factory": index.meta.factory,
            "params": index.meta.params,
            "tuned_recall": index.meta.tuned_recall,
            "recall@10": recall_at_k(found, truth),
            "cheapest_params": cheapest,
            "cheapest_recall@10": recall_at_k(cheap_found, truth),
            "batch": args.batch,
            "search_threads": args.threads,
            "qps": kind_qps,
            "flat_qps": flat_qps,
            "qps_ratio": kind_qps / flat_qps,
            "build_s": build_s,
            "data_rss_mb": data_mb,
            "build_peak_rss_mb": peak.peak,
            "load1": os.getloadavg()[0],
        }
    )


def main() -> None:
    """Run the grid and print one JSON line per configuration."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", nargs="+", default=["synthetic", "musicnn"], choices=["synthetic", "musicnn"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=["ivf_flat", "ivf_sq8", "hnsw"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1, help="queries per search call (Flat and candidate)")
    parser.add_argument("--threads", type=int, default=1, help="FAISS threads while timing searches")
    parser.add_argument("--corpus", type=Path, default=Path("/tmp/soundalike_study/corpus"))
    parser.add_argument("--base", type=Path, default=Path("/tmp/soundalike_bench/musicnn_patches.npy"))
    args = parser.parse_args()
    if "musicnn" in args.data and not args.base.exists():
        args.base.parent.mkdir(parents=True, exist_ok=True)
        np.save(args.base, musicnn_patches(args.corpus))
    context = mp.get_context("spawn")
    for data in args.data:
        for n in args.sizes:
            for kind in args.kinds:
                queue: mp.Queue = context.Queue()
                process = context.Process(target=run_one, args=(data, n, kind, args, queue))
                process.start()
                print(json.dumps(queue.get()), flush=True)
                process.join()


if __name__ == "__main__":
    main()
