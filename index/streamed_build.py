"""Building an index from a stream of embedding chunks, memory bounded, tuned to a recall target."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import faiss
import numpy as np

from soundalike.index.backends import CpuBackend, IndexBackend, StaleSet
from soundalike.index.shards import combine_shards
from soundalike.index.spec import IndexSpec, choose_spec
from soundalike.index.track_index import FORMAT_VERSION, IndexMeta, Rows, TrackIndex, prepare_vectors
from soundalike.index.tuning import ExactNeighbours, tune
from soundalike.ingest.errors import ConfigError

Chunk = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(track_ids, embedding_ids, vectors) of consecutive catalogue rows."""
ChunkSource = Callable[[], Iterator[Chunk]]
"""Returns a fresh iterator over the catalogue each call (a build may read it twice)."""

TRAIN_PER_LIST = 64
MAX_TRAIN = 200_000


# Tuning queries are catalogue rows (in the IVF training sample, nodes of the HNSW graph), which reads
# 0.01-0.035 higher than recall on fresh queries (bench/RESULTS.md); tuning aims this much higher.
TUNING_MARGIN = 0.03


@dataclass(frozen=True)
class BuildOptions:
    """What to build: kind ('auto' decides by size and device), metric, recall target, shards."""

    kind: str = "auto"
    metric: str = "cosine"
    recall_target: float = 0.95
    k: int = 10
    shards: int = 1
    tuning_queries: int = 200
    seed: int = 0


def sample_rows(chunks: ChunkSource, count: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """About ``size`` (track_ids, vectors) drawn uniformly from the stream, holding only the sample."""
    keep = min(1.0, size / max(count, 1))
    ids, vectors = [], []
    for track_ids, _, chunk in chunks():
        mask = rng.random(len(chunk)) < keep
        ids.append(track_ids[mask])
        vectors.append(chunk[mask])
    if not ids:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
    return np.concatenate(ids), np.concatenate(vectors)


def empty_shards(spec: IndexSpec, shards: int, train: np.ndarray) -> list[faiss.Index]:
    """``shards`` empty indexes of ``spec`` (IVF ones trained once on ``train`` and cloned)."""
    first = faiss.index_factory(spec.dim, spec.factory, spec.faiss_metric)
    if spec.is_ivf:
        if len(train) < spec.nlist:
            raise ConfigError(f"{spec.factory} needs >= {spec.nlist} training vectors, got {len(train)}")
        first.train(train)
    if spec.kind == "hnsw":
        faiss.downcast_index(first.index).hnsw.efConstruction = 40  # type: ignore[attr-defined]
    return [first] + [faiss.clone_index(first) for _ in range(shards - 1)]


def build_streamed(
    chunks: ChunkSource,
    *,
    count: int,
    dim: int,
    model_name: str,
    model_version: str,
    fingerprint: str = "",
    options: BuildOptions | None = None,
    backend: IndexBackend | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> TrackIndex:
    """Index ``count`` vectors of ``dim`` read chunk by chunk; only the index and a sample stay in memory.

    IVF kinds are trained on a uniform sample (first pass); approximate kinds are then tuned:
    the smallest ``efSearch``/``nprobe`` whose recall@k on sampled catalogue queries (their own id
    left out) reaches the target, against exact neighbours accumulated while adding (second pass).
    """
    options = options or BuildOptions()
    backend = backend or CpuBackend()
    if count < 1:
        raise ConfigError("cannot build an index of zero vectors")
    if options.shards < 1:
        raise ConfigError(f"index shards must be >= 1, got {options.shards}")
    spec = choose_spec(count, dim, device=backend.name, kind=options.kind, metric=options.metric)
    rng = np.random.default_rng(options.seed)
    sample_ids, sample = np.zeros(0, np.int64), np.zeros((0, dim), np.float32)
    if spec.tunable:
        wanted = max(options.tuning_queries, min(TRAIN_PER_LIST * spec.nlist, MAX_TRAIN)) if spec.is_ivf else 0
        sample_ids, sample = sample_rows(chunks, count, max(wanted, options.tuning_queries), rng)
        sample = prepare_vectors(sample, spec.metric)
    pick = rng.permutation(len(sample))[: options.tuning_queries] if spec.tunable else np.zeros(0, np.int64)
    exact = ExactNeighbours(sample[pick], sample_ids[pick], options.k, spec.metric)
    shards = empty_shards(spec, options.shards, sample)
    track_parts, embedding_parts = [], []
    for track_ids, embedding_ids, raw in chunks():
        vectors = prepare_vectors(raw, spec.metric) if len(raw) else raw
        for n, shard in enumerate(shards):
            mask = track_ids % len(shards) == n
            if mask.any():
                shard.add_with_ids(vectors[mask], track_ids[mask])
        exact.add(track_ids, vectors)
        track_parts.append(track_ids)
        embedding_parts.append(embedding_ids)
        if on_rows is not None:
            on_rows(len(track_ids))
    if spec.is_ivf:
        for shard in shards:
            faiss.downcast_index(shard.index).make_direct_map()  # type: ignore[attr-defined]
    index = combine_shards(shards)
    params, recall = tune(
        index,
        spec,
        exact.queries,
        exact.query_ids,
        exact.truth(),
        target=min(1.0, options.recall_target + TUNING_MARGIN),
    )
    rows = Rows(np.concatenate(track_parts), np.concatenate(embedding_parts))
    if len(np.unique(rows.track_ids)) != len(rows.track_ids):
        raise ConfigError("the embedding stream holds a track id twice")
    meta = IndexMeta(
        format_version=FORMAT_VERSION,
        factory=spec.factory,
        kind=spec.kind,
        metric=spec.metric,
        dim=dim,
        count=int(index.ntotal),
        model_name=model_name,
        model_version=model_version,
        created_at=datetime.now(UTC).isoformat(),
        nlist=spec.nlist,
        shards=len(shards),
        fingerprint=fingerprint,
        params=params,
        recall_target=options.recall_target if spec.tunable else None,
        tuned_recall=recall if spec.tunable else None,
    )
    return TrackIndex(backend.place(index, spec, params), meta, rows=rows, stale=StaleSet(), backend=backend)


def array_chunks(
    track_ids: np.ndarray, vectors: np.ndarray, embedding_ids: np.ndarray | None = None, *, chunk_size: int = 50_000
) -> ChunkSource:
    """A chunk source over arrays already in memory (tests, benchmarks)."""
    track_ids = np.asarray(track_ids, dtype=np.int64)
    rows = np.asarray(embedding_ids if embedding_ids is not None else track_ids, dtype=np.int64)

    def chunks() -> Iterator[Chunk]:
        for start in range(0, len(track_ids), chunk_size):
            stop = start + chunk_size
            yield track_ids[start:stop], rows[start:stop], vectors[start:stop]

    return chunks


def build_index(
    track_ids: np.ndarray,
    vectors: np.ndarray,
    *,
    model_name: str,
    model_version: str,
    options: BuildOptions | None = None,
    backend: IndexBackend | None = None,
) -> TrackIndex:
    """An index over vectors already in memory, keyed by ``track_ids``."""
    if vectors.ndim != 2 or len(track_ids) != len(vectors) or len(vectors) == 0:
        raise ValueError(f"need matching non-empty ids and (n, d) vectors, got {len(track_ids)} and {vectors.shape}")
    return build_streamed(
        array_chunks(track_ids, vectors),
        count=len(vectors),
        dim=int(vectors.shape[1]),
        model_name=model_name,
        model_version=model_version,
        options=options,
        backend=backend,
    )
