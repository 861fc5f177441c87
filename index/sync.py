"""Keeping the saved index in step with the database: add new tracks, hide stale ones, rebuild when needed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import faiss
import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.models import EmbeddingModel
from soundalike.index.backends import IndexBackend, StaleSet
from soundalike.index.shards import shard_list
from soundalike.index.sorted_ids import ABSENT, positions
from soundalike.index.source import Catalogue, read_catalogue, vector_chunks, vectors_of
from soundalike.index.spec import choose_spec
from soundalike.index.streamed_build import BuildOptions, build_streamed
from soundalike.index.track_index import (
    IndexMeta,
    Rows,
    TrackIndex,
    load_index,
    prepare_vectors,
    save_index,
)
from soundalike.ingest.errors import IndexMismatchError, NotFoundError
from soundalike.ingest.settings import Settings


@dataclass(frozen=True)
class Changes:
    """How the database differs from an index: tracks to add, indexed ids that went stale."""

    added: np.ndarray
    newly_stale: np.ndarray


@dataclass(frozen=True)
class SyncReport:
    """What ``sync_index`` did ("built", "updated" or "unchanged"), why, and the resulting sidecar."""

    action: str
    reason: str
    added: int
    stale: int
    meta: IndexMeta


def build_options(settings: Settings) -> BuildOptions:
    """Index build options from the settings."""
    return BuildOptions(
        kind=settings.index_kind, recall_target=settings.index_recall_target, shards=settings.index_shards
    )


def diff_catalogue(rows: Rows, catalogue: Catalogue) -> Changes:
    """Tracks in the database but not the index, and indexed tracks deleted or re-embedded since."""
    order = np.argsort(catalogue.track_ids)
    db_ids, db_rows = catalogue.track_ids[order], catalogue.embedding_ids[order]
    pos = positions(db_ids, rows.track_ids)
    current = (pos != ABSENT) & (db_rows[pos] == rows.embedding_ids) if len(db_ids) else pos != ABSENT
    return Changes(np.setdiff1d(db_ids, rows.track_ids), rows.track_ids[~current])


def rebuild_reason(existing: TrackIndex, catalogue: Catalogue, changes: Changes, settings: Settings) -> str | None:
    """Why the index cannot be updated in place (None when it can)."""
    meta = existing.meta
    if meta.model_version != catalogue.model_version or meta.dim != catalogue.dim:
        return f"embeddings changed from {meta.model_version}/{meta.dim}d to {catalogue.model_version}/{catalogue.dim}d"
    total = meta.count + len(changes.added)
    wanted = choose_spec(total, catalogue.dim, device=existing.backend.name, kind=settings.index_kind).kind
    if wanted != meta.kind or settings.index_shards != meta.shards:
        return f"{total} tracks call for {wanted} x{settings.index_shards}, index is {meta.kind} x{meta.shards}"
    stale = len(np.union1d(existing.stale.ids, changes.newly_stale))
    if stale / max(total, 1) > settings.index_stale_fraction:
        return f"{stale} of {total} indexed tracks are stale (> {settings.index_stale_fraction:.0%}): compacting"
    return None


def removes_in_place(track_index: TrackIndex) -> bool:
    """Whether stale vectors can be deleted from the index itself (a CPU Flat index) rather than hidden."""
    return track_index.meta.kind == "flat" and track_index.backend.name == "cpu"


def add_tracks(track_index: TrackIndex, session: Session, catalogue: Catalogue, changes: Changes) -> TrackIndex:
    """A copy of the index metadata with the added tracks indexed and the stale ids dealt with.

    A CPU Flat index deletes its stale vectors and indexes the re-embedded tracks' new ones at once;
    other kinds cannot delete, so they hide stale ids from searches until the next compaction.
    """
    shards = shard_list(track_index.index)
    stale_ids = np.union1d(track_index.stale.ids, changes.newly_stale)
    to_add, rows = changes.added, track_index.rows
    if removes_in_place(track_index) and len(stale_ids):
        for n, shard in enumerate(shards):
            gone = stale_ids[stale_ids % len(shards) == n] if len(shards) > 1 else stale_ids
            shard.remove_ids(gone.astype(np.int64))
        kept = ~np.isin(rows.track_ids, stale_ids)
        rows = Rows(rows.track_ids[kept], rows.embedding_ids[kept])
        to_add = np.union1d(to_add, np.intersect1d(stale_ids, catalogue.track_ids))
        stale_ids = np.zeros(0, dtype=np.int64)
    track_parts, row_parts = [rows.track_ids], [rows.embedding_ids]
    for track_ids, embedding_ids, raw in vectors_of(session, catalogue, to_add)():
        vectors = prepare_vectors(raw, track_index.meta.metric)
        for n, shard in enumerate(shards):
            mask = track_ids % len(shards) == n
            if mask.any():
                shard.add_with_ids(vectors[mask], track_ids[mask])
        track_parts.append(track_ids)
        row_parts.append(embedding_ids)
    rows = Rows(np.concatenate(track_parts), np.concatenate(row_parts))
    if len(shards) > 1:
        faiss.downcast_index(track_index.index).syncWithSubIndexes()  # type: ignore[attr-defined]
    meta = replace(track_index.meta, count=sum(int(s.ntotal) for s in shards), fingerprint=catalogue.fingerprint)
    return TrackIndex(track_index.index, meta, rows=rows, stale=StaleSet(stale_ids), backend=track_index.backend)


def sync_index(
    session: Session,
    settings: Settings,
    model_name: str,
    *,
    backend: IndexBackend,
    rebuild: bool = False,
    on_rows: Callable[[int], None] | None = None,
) -> SyncReport:
    """Bring the saved index of ``model_name`` up to date with the database and save it atomically.

    Same model version and kind: new tracks are added; deleted or re-embedded ones are removed and the
    re-embedded re-added (CPU Flat), or marked stale and hidden from searches (other kinds). A full
    rebuild happens when asked, when there is no usable index, when the embeddings or the chosen kind
    changed, or when the stale fraction passes the setting. The index is searched on ``backend``.
    """
    catalogue = read_catalogue(session, model_name)
    reason: str | None = "rebuild requested" if rebuild else None
    if not rebuild:
        try:
            existing = load_index(settings.index_dir, model_name, backend=backend)
        except NotFoundError:
            reason = "no index yet"
        except IndexMismatchError as error:
            reason = f"saved index unusable: {error}"
        else:
            changes = diff_catalogue(existing.rows, catalogue)
            reason = rebuild_reason(existing, catalogue, changes, settings)
            if reason is None:
                if not len(changes.added) and not len(changes.newly_stale):
                    return SyncReport("unchanged", "index matches the database", 0, len(existing.stale), existing.meta)
                updated = add_tracks(existing, session, catalogue, changes)
                save_index(updated, settings.index_dir)
                added, stale = len(changes.added), len(updated.stale)
                replaced = len(changes.newly_stale) if removes_in_place(existing) else 0
                note = f"{added} added, {replaced} replaced or removed, {stale} stale"
                return SyncReport("updated", note, added, stale, updated.meta)
            del existing
    built = build_streamed(
        vector_chunks(session, catalogue),
        count=len(catalogue.track_ids),
        dim=catalogue.dim,
        model_name=model_name,
        model_version=catalogue.model_version,
        fingerprint=catalogue.fingerprint,
        options=build_options(settings),
        backend=backend,
        on_rows=on_rows,
    )
    save_index(built, settings.index_dir)
    return SyncReport("built", reason or "", built.meta.count, 0, built.meta)


def build_from_database(
    session: Session,
    settings: Settings,
    model: EmbeddingModel,
    *,
    backend: IndexBackend,
    on_track: Callable[[], None] | None = None,
    rebuild: bool = False,
) -> IndexMeta:
    """Bring the model's embeddings up to date, then index what is missing (or rebuild) and save atomically."""
    model.refresh(session, on_track=on_track)
    session.flush()
    return sync_index(session, settings, model.name, backend=backend, rebuild=rebuild).meta
