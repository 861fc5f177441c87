"""A FAISS index of track embeddings: ids are track ids, scores are cosine similarities.

On disk an index is a JSON sidecar (``<model>.json``) naming the files of one generation
(``<model>.<generation>.faiss`` per shard and ``<model>.<generation>.rows.npz``). Each file is written
atomically before the sidecar is replaced, so a crash at any point leaves the previous generation loadable.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from soundalike.index.backends import CpuBackend, IndexBackend, StaleSet
from soundalike.index.shards import combine_shards, shard_list
from soundalike.index.sorted_ids import ABSENT, positions
from soundalike.index.spec import IndexSpec
from soundalike.ingest.atomic_files import atomic_write, atomic_write_npz, atomic_write_text
from soundalike.ingest.errors import IndexCorruptError, IndexMismatchError, NotFoundError

FORMAT_VERSION = 2
EXACT_KINDS = frozenset({"flat", "hnsw", "ivf_flat"})


@dataclass(frozen=True)
class IndexMeta:
    """The JSON sidecar saved next to every index."""

    format_version: int
    factory: str
    kind: str
    metric: str
    dim: int
    count: int
    model_name: str
    model_version: str
    created_at: str
    nlist: int = 0
    shards: int = 1
    fingerprint: str = ""
    params: dict[str, int] = field(default_factory=dict)
    recall_target: float | None = None
    tuned_recall: float | None = None
    stale: int = 0
    files: tuple[str, ...] = ()
    checksums: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> IndexSpec:
        """The index spec this sidecar records."""
        return IndexSpec(kind=self.kind, metric=self.metric, dim=self.dim, nlist=self.nlist)

    @property
    def version(self) -> str:
        """The saved generation this sidecar names (unique per save; empty before the first save)."""
        return self.files[-1].removesuffix(".rows.npz") if self.files else ""


@dataclass(frozen=True)
class Rows:
    """Which embedding row each indexed track came from, in insertion order."""

    track_ids: np.ndarray
    embedding_ids: np.ndarray

    def __post_init__(self) -> None:
        """Check both arrays line up."""
        if len(self.track_ids) != len(self.embedding_ids):
            raise ValueError(f"{len(self.track_ids)} track ids for {len(self.embedding_ids)} embedding ids")


def prepare_vectors(vectors: np.ndarray, metric: str) -> np.ndarray:
    """Contiguous float32 rows, L2-normalised for cosine so inner product is cosine similarity."""
    out = np.array(np.atleast_2d(vectors), dtype=np.float32, order="C", copy=True)
    if metric == "cosine":
        faiss.normalize_L2(out)
    return out


class TrackIndex:
    """A loaded or freshly built index with its metadata, embedding rows and stale ids."""

    def __init__(
        self,
        index: faiss.Index,
        meta: IndexMeta,
        *,
        rows: Rows | None = None,
        stale: StaleSet | None = None,
        backend: IndexBackend | None = None,
    ) -> None:
        """Wrap a FAISS index (already placed on ``backend``'s device) whose ids are track ids."""
        self.index = index
        self.meta = meta
        self.rows = rows if rows is not None else Rows(np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.stale = stale if stale is not None else StaleSet()
        self.backend: IndexBackend = backend if backend is not None else CpuBackend()
        self._sorted: tuple[Rows, np.ndarray] | None = None

    @property
    def live_count(self) -> int:
        """Indexed tracks that searches can return."""
        return self.meta.count - len(self.stale)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (track_ids, scores) per query row, best first; stale tracks are never returned.

        Missing slots have id -1. Cosine scores are similarities (higher is better); l2 scores are
        squared distances (lower is better).
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        queries = np.atleast_2d(queries)
        if queries.ndim != 2 or queries.shape[1] != self.meta.dim:
            raise IndexMismatchError(f"query dim {queries.shape[-1]} != index dim {self.meta.dim}")
        prepared = prepare_vectors(queries, self.meta.metric)
        fetch = min(k, max(self.index.ntotal, 1))
        return self.backend.search(self.index, prepared, fetch, self.meta.spec, self.meta.params, self.stale)

    def vectors(self, track_ids: Iterable[int]) -> dict[int, np.ndarray]:
        """The indexed vectors (unit-norm under cosine) of those ``track_ids`` the index holds and serves.

        Read back from the index itself, so a request needs no database round trip. Left out: ids not
        indexed or stale, and every id when the index cannot give vectors back exactly (quantised codes,
        or an index on a GPU); callers read those from the database.
        """
        if self.meta.kind not in EXACT_KINDS or self.backend.name != "cpu":
            return {}
        wanted = np.unique(np.fromiter((int(t) for t in track_ids), dtype=np.int64))
        if self._sorted is None or self._sorted[0] is not self.rows:
            self._sorted = (self.rows, np.sort(self.rows.track_ids))
        wanted = wanted[(positions(self._sorted[1], wanted) != ABSENT) & (positions(self.stale.ids, wanted) == ABSENT)]
        parts = shard_list(self.index)
        found: dict[int, np.ndarray] = {}
        for n, part in enumerate(parts):
            ids = wanted[wanted % len(parts) == n] if len(parts) > 1 else wanted
            if len(ids):
                found.update(zip(ids.tolist(), part.reconstruct_batch(ids), strict=True))
        return found

    def cpu_index(self) -> faiss.Index:
        """The index in main memory (a copy when it lives on a GPU)."""
        return self.backend.to_cpu(self.index)


def sidecar_path(directory: Path, model_name: str) -> Path:
    """The sidecar of one embedding model's index inside ``directory``."""
    return directory / f"{model_name}.json"


def save_index(track_index: TrackIndex, directory: Path) -> Path:
    """Write a new generation atomically, then the sidecar that points at it; returns the sidecar."""
    meta = track_index.meta
    generation = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    stem = f"{meta.model_name}.{generation}"
    shards = shard_list(track_index.cpu_index())
    names = [f"{stem}.faiss"] if len(shards) == 1 else [f"{stem}.s{n}.faiss" for n in range(len(shards))]
    for name, shard in zip(names, shards, strict=True):
        atomic_write(directory / name, lambda tmp, shard=shard: faiss.write_index(shard, str(tmp)))
    rows_name = f"{stem}.rows.npz"

    rows = {
        "track_ids": track_index.rows.track_ids,
        "embedding_ids": track_index.rows.embedding_ids,
        "stale": track_index.stale.ids,
    }
    atomic_write_npz(directory / rows_name, rows)
    files = (*names, rows_name)
    checksums = {name: file_checksum(directory / name) for name in files}
    meta = replace(meta, stale=len(track_index.stale), files=files, checksums=checksums)
    sidecar = sidecar_path(directory, meta.model_name)
    atomic_write_text(sidecar, json.dumps(asdict(meta), indent=2))
    track_index.meta = meta
    for old in directory.glob(f"{meta.model_name}.*"):
        if old.name not in meta.files and old != sidecar and old.suffix in (".faiss", ".npz"):
            old.unlink(missing_ok=True)
    return sidecar


def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes, as the sidecar records it."""
    with path.open("rb") as handle:
        return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()


def check_files(directory: Path, meta: IndexMeta) -> None:
    """Refuse a generation whose files are missing or differ from the checksums in its sidecar."""
    missing = [name for name in meta.files if not (directory / name).exists()]
    if missing or len(meta.files) != meta.shards + 1:
        raise IndexMismatchError(f"index files named by the sidecar are missing: {missing or list(meta.files)}")
    for name, expected in meta.checksums.items():
        if file_checksum(directory / name) != expected:
            raise IndexCorruptError(
                f"index file {directory / name} is corrupt (checksum differs from its sidecar): "
                "run `soundalike index build` to rebuild it from the database"
            )


def read_meta(directory: Path, model_name: str) -> IndexMeta:
    """The sidecar of ``model_name``'s index; refuses a format this code does not read."""
    sidecar = sidecar_path(directory, model_name)
    if not sidecar.exists():
        raise NotFoundError(f"no index for {model_name} in {directory} (run `soundalike index build`)")
    try:
        raw = json.loads(sidecar.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"index sidecar {sidecar} is not valid JSON: run `soundalike index build`") from exc
    if not isinstance(raw, dict) or raw.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index format {raw.get('format_version')} != supported {FORMAT_VERSION}: run `soundalike index build`"
        )
    raw["files"] = tuple(raw.get("files", ()))
    try:
        meta = IndexMeta(**raw)
    except TypeError as exc:
        raise IndexCorruptError(f"index sidecar {sidecar} has unexpected fields: run `soundalike index build`") from exc
    if meta.model_name != model_name:
        raise IndexMismatchError(f"sidecar {sidecar} is for model {meta.model_name}, not {model_name}")
    return meta


def read_rows(directory: Path, meta: IndexMeta) -> tuple[Rows, np.ndarray]:
    """The embedding rows and stale ids saved with an index generation."""
    path = directory / meta.files[-1]
    if not path.exists():
        raise IndexMismatchError(f"rows file {path} named by the sidecar is missing")
    try:
        with np.load(path, allow_pickle=False) as saved:
            return Rows(saved["track_ids"], saved["embedding_ids"]), saved["stale"]
    except (OSError, ValueError, KeyError) as exc:
        raise IndexCorruptError(f"rows file {path} cannot be read: {exc}") from exc


def load_index(
    directory: Path,
    model_name: str,
    *,
    model_version: str | None = None,
    backend: IndexBackend | None = None,
) -> TrackIndex:
    """Load an index, refusing a sidecar that disagrees with its files or the expected model version."""
    meta = read_meta(directory, model_name)
    if model_version is not None and meta.model_version != model_version:
        raise IndexMismatchError(
            f"index was built for {model_name} {meta.model_version}, database holds {model_version}: "
            "run `soundalike index build`"
        )
    check_files(directory, meta)
    *index_names, _rows_name = meta.files
    try:
        shards = [faiss.read_index(str(directory / name)) for name in index_names]
    except RuntimeError as exc:
        raise IndexCorruptError(f"FAISS cannot read the index in {directory}: {str(exc).splitlines()[0]}") from exc
    dims, total = {s.d for s in shards}, sum(s.ntotal for s in shards)
    if dims != {meta.dim} or total != meta.count:
        raise IndexMismatchError(
            f"index files have dim={sorted(dims)} count={total}, sidecar says dim={meta.dim} count={meta.count}"
        )
    rows, stale_ids = read_rows(directory, meta)
    stale = StaleSet(stale_ids)
    if len(rows.track_ids) != meta.count:
        raise IndexMismatchError(f"rows file lists {len(rows.track_ids)} tracks, sidecar says count={meta.count}")
    backend = backend if backend is not None else CpuBackend()
    index = backend.place(combine_shards(shards), meta.spec, meta.params)
    return TrackIndex(index, meta, rows=rows, stale=stale, backend=backend)
