"""A FAISS index of track embeddings: ids are track ids, scores are cosine similarities."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from soundalike.index.atomic import atomic_write
from soundalike.ingest.errors import IndexMismatchError, NotFoundError

FORMAT_VERSION = 1
EXACT_LIMIT = 50_000


@dataclass(frozen=True)
class IndexMeta:
    """The JSON sidecar saved next to every index file."""

    format_version: int
    factory: str
    metric: str
    dim: int
    count: int
    model_name: str
    model_version: str
    created_at: str


def choose_factory(count: int) -> str:
    """FAISS factory string for a catalogue of ``count`` tracks: exact when small, HNSW beyond."""
    return "IDMap2,Flat" if count <= EXACT_LIMIT else "IDMap2,HNSW32,Flat"


class TrackIndex:
    """A loaded or freshly built index with its metadata."""

    def __init__(self, index: faiss.Index, meta: IndexMeta) -> None:
        """Wrap a FAISS index whose ids are track ids."""
        self.index = index
        self.meta = meta

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (track_ids, scores) per query row, best first; missing slots have id -1."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if queries.shape[1] != self.meta.dim:
            raise IndexMismatchError(f"query dim {queries.shape[1]} != index dim {self.meta.dim}")
        scores, ids = self.index.search(queries, min(k, max(self.index.ntotal, 1)))
        return ids, scores


def build_index(track_ids: np.ndarray, vectors: np.ndarray, *, model_name: str, model_version: str) -> TrackIndex:
    """Inner-product index over L2-normalised ``vectors`` keyed by ``track_ids``."""
    if vectors.ndim != 2 or len(track_ids) != len(vectors) or len(vectors) == 0:
        raise ValueError(f"need matching non-empty ids and (n, d) vectors, got {len(track_ids)} and {vectors.shape}")
    dim = int(vectors.shape[1])
    factory = choose_factory(len(vectors))
    index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(track_ids, dtype=np.int64))
    meta = IndexMeta(
        format_version=FORMAT_VERSION,
        factory=factory,
        metric="inner_product",
        dim=dim,
        count=int(index.ntotal),
        model_name=model_name,
        model_version=model_version,
        created_at=datetime.now(UTC).isoformat(),
    )
    return TrackIndex(index, meta)


def index_paths(directory: Path, model_name: str) -> tuple[Path, Path]:
    """(index file, sidecar file) of one embedding model inside ``directory``."""
    return directory / f"{model_name}.faiss", directory / f"{model_name}.json"


def save_index(track_index: TrackIndex, directory: Path) -> Path:
    """Write index and sidecar atomically; a crash leaves the previous pair loadable."""
    index_file, sidecar = index_paths(directory, track_index.meta.model_name)
    atomic_write(index_file, lambda tmp: faiss.write_index(track_index.index, str(tmp)))
    text = json.dumps(asdict(track_index.meta), indent=2)
    atomic_write(sidecar, lambda tmp: tmp.write_text(text))
    return index_file


def load_index(directory: Path, model_name: str, *, model_version: str | None = None) -> TrackIndex:
    """Load an index, refusing a sidecar that disagrees with the file or the expected model version."""
    index_file, sidecar = index_paths(directory, model_name)
    if not index_file.exists() or not sidecar.exists():
        raise NotFoundError(f"no index for {model_name} in {directory} (run `soundalike index build`)")
    meta = IndexMeta(**json.loads(sidecar.read_text()))
    if meta.format_version != FORMAT_VERSION:
        raise IndexMismatchError(f"index format {meta.format_version} != supported {FORMAT_VERSION}")
    if model_version is not None and meta.model_version != model_version:
        raise IndexMismatchError(
            f"index was built for {model_name} {meta.model_version}, database holds {model_version}: "
            "run `soundalike index build`"
        )
    index = faiss.read_index(str(index_file))
    if index.d != meta.dim or index.ntotal != meta.count:
        raise IndexMismatchError(
            f"index file has dim={index.d} count={index.ntotal}, sidecar says dim={meta.dim} count={meta.count}"
        )
    return TrackIndex(index, meta)
