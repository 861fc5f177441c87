"""Index consistency against the database: status (cheap, from the sidecar) and verify (every vector)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np
from sqlalchemy.orm import Session

from soundalike.index.shards import shard_list
from soundalike.index.source import Catalogue, read_catalogue, vector_chunks
from soundalike.index.sync import diff_catalogue
from soundalike.index.track_index import TrackIndex, check_files, prepare_vectors, read_meta, read_rows
from soundalike.ingest.errors import IndexMismatchError

# Largest L2 distance allowed between a stored unit vector and its reconstruction, per index kind.
TOLERANCE = {"flat": 1e-4, "hnsw": 1e-4, "ivf_flat": 1e-4, "ivf_sq8": 0.1, "ivf_pq": 0.75}
SAMPLE = 20


@dataclass(frozen=True)
class IndexStatus:
    """The sidecar and how far the database has moved since the index was saved."""

    sidecar: dict[str, object]
    count: int
    stale: int
    stale_since_save: int
    missing: int
    fingerprint: str
    database_fingerprint: str
    fingerprint_match: bool
    intact: bool
    problem: str | None


@dataclass(frozen=True)
class VerifyReport:
    """Problems ``verify_index`` found; ``ok`` when there are none (ids listed up to ``SAMPLE`` each)."""

    checked: int
    indexed: int
    stale_filtered: int
    missing: list[int]
    stale: list[int]
    duplicated: list[int]
    mismatched: list[int]
    tolerance: float
    ok: bool

    def as_dict(self) -> dict[str, object]:
        """Plain dict for JSON output."""
        return asdict(self)


def index_status(session: Session, directory: Path, model_name: str) -> IndexStatus:
    """Sidecar, stale count, fingerprint match and whether the files match their checksums, without loading
    the index itself; the counts against the database are left at 0 when the files are damaged."""
    meta = read_meta(directory, model_name)
    try:
        check_files(directory, meta)
        problem = None
    except IndexMismatchError as error:
        problem = str(error)
    catalogue = read_catalogue(session, model_name)
    stale_since_save = missing = 0
    if problem is None:
        rows, stale_ids = read_rows(directory, meta)
        changes = diff_catalogue(rows, catalogue)
        stale_since_save, missing = len(np.setdiff1d(changes.newly_stale, stale_ids)), len(changes.added)
    return IndexStatus(
        sidecar=asdict(meta),
        count=meta.count,
        stale=meta.stale,
        stale_since_save=stale_since_save,
        missing=missing,
        fingerprint=meta.fingerprint,
        database_fingerprint=catalogue.fingerprint,
        fingerprint_match=meta.fingerprint == catalogue.fingerprint,
        intact=problem is None,
        problem=problem,
    )


def indexed_ids(index: faiss.Index) -> list[np.ndarray]:
    """The track ids each shard of a CPU index actually holds."""
    maps = [faiss.downcast_index(s).id_map for s in shard_list(index)]  # type: ignore[attr-defined]
    return [faiss.vector_to_array(m).astype(np.int64) for m in maps]


def _first(ids: np.ndarray) -> list[int]:
    return [int(i) for i in np.sort(ids)[:SAMPLE]]


def verify_index(
    session: Session, track_index: TrackIndex, catalogue: Catalogue | None = None, *, tolerance: float | None = None
) -> VerifyReport:
    """Check every database embedding is indexed and searchable, no stale id is searchable, vectors match."""
    catalogue = catalogue or read_catalogue(session, track_index.meta.model_name)
    tolerance = TOLERANCE[track_index.meta.kind] if tolerance is None else tolerance
    cpu = track_index.cpu_index()
    shards = shard_list(cpu)
    per_shard = indexed_ids(cpu)
    held = np.concatenate(per_shard)
    unique, counts = np.unique(held, return_counts=True)
    searchable = np.setdiff1d(unique, track_index.stale.ids)
    rows_known = track_index.rows
    changes = diff_catalogue(rows_known, catalogue)
    unlisted = np.setdiff1d(searchable, rows_known.track_ids)
    stale = np.union1d(np.intersect1d(searchable, changes.newly_stale), unlisted)
    missing = np.setdiff1d(catalogue.track_ids, searchable)
    shard_of = {int(t): n for n, ids in enumerate(per_shard) for t in ids} if len(shards) > 1 else {}
    check = np.setdiff1d(searchable, stale)
    mismatched: list[int] = []
    checked = 0
    for track_ids, _, raw in vector_chunks(session, catalogue)():
        mask = np.isin(track_ids, check)
        if not mask.any():
            continue
        wanted, stored = track_ids[mask], prepare_vectors(raw[mask], track_index.meta.metric)
        for track_id, vector in zip(wanted, stored, strict=True):
            got = shards[shard_of.get(int(track_id), 0)].reconstruct(int(track_id))
            checked += 1
            if float(np.linalg.norm(got - vector)) > tolerance:
                mismatched.append(int(track_id))
    duplicated = unique[counts > 1]
    return VerifyReport(
        checked=checked,
        indexed=len(held),
        stale_filtered=len(track_index.stale),
        missing=_first(missing),
        stale=_first(stale),
        duplicated=_first(duplicated),
        mismatched=sorted(mismatched)[:SAMPLE],
        tolerance=tolerance,
        ok=not (len(missing) or len(stale) or len(duplicated) or mismatched),
    )
