"""Incremental builds from the database, stale filtering, compaction, status and verify."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from soundalike.embed.store import put_embeddings
from soundalike.index.backends import CpuBackend
from soundalike.index.sync import sync_index
from soundalike.index.track_index import load_index, save_index
from soundalike.index.verify import index_status, verify_index
from soundalike.ingest.db.models import Track
from soundalike.ingest.settings import Settings

from support.index_helpers import add_tracks, clustered

CPU = CpuBackend()


def test_build_adds_new_tracks_hides_stale_ones_and_compacts(session: Session, settings: Settings) -> None:
    """HNSW cannot delete: deleted and re-embedded tracks are hidden until a compaction rebuilds."""
    settings = settings.model_copy(update={"index_kind": "hnsw"})
    rng = np.random.default_rng(0)
    ids = add_tracks(session, clustered(rng, 40, 8))
    first = sync_index(session, settings, "m", backend=CPU)
    assert first.action == "built" and first.meta.count == 40 and first.meta.kind == "hnsw"
    assert sync_index(session, settings, "m", backend=CPU).action == "unchanged"

    new = add_tracks(session, clustered(rng, 5, 8), start=40)
    session.execute(update(Track).where(Track.id == int(ids[0])).values(status="deleted"))
    put_embeddings(session, "m", "v1", ids[1:2], clustered(rng, 1, 8))
    session.flush()
    updated = sync_index(session, settings, "m", backend=CPU)
    assert (updated.action, updated.added, updated.stale) == ("updated", 5, 2)
    index = load_index(settings.index_dir, "m")
    found, _ = index.search(clustered(rng, 30, 8), 45)
    assert not np.isin(found, ids[:2]).any() and np.isin(new, found).all()
    report = verify_index(session, index)
    assert report.stale == [] and report.stale_filtered == 2
    assert report.missing == [int(ids[1])]  # re-embedded: hidden until the next compaction re-adds it

    session.execute(update(Track).where(Track.id.in_([int(i) for i in ids[2:6]])).values(status="deleted"))
    session.flush()
    compacted = sync_index(session, settings, "m", backend=CPU)
    assert compacted.action == "built" and "stale" in compacted.reason
    assert compacted.meta.count == 45 - 5 and compacted.stale == 0
    status = index_status(session, settings.index_dir, "m")
    assert status.fingerprint_match and status.missing == 0 and status.stale_since_save == 0


@pytest.mark.parametrize("shards", [1, 2])
def test_a_flat_index_replaces_a_re_embedded_track_and_deletes_a_removed_one_at_once(
    session: Session, settings: Settings, shards: int
) -> None:
    settings = settings.model_copy(update={"index_shards": shards})
    rng = np.random.default_rng(5)
    ids = add_tracks(session, clustered(rng, 40, 8))
    assert sync_index(session, settings, "m", backend=CPU).meta.kind == "flat"

    session.execute(update(Track).where(Track.id == int(ids[0])).values(status="deleted"))
    fresh = clustered(rng, 1, 8)
    put_embeddings(session, "m", "v1", ids[1:2], fresh)
    session.flush()
    updated = sync_index(session, settings, "m", backend=CPU)
    assert (updated.action, updated.added, updated.stale) == ("updated", 0, 0)
    assert updated.meta.count == 39 and "1 replaced" not in updated.reason and "2 replaced" in updated.reason
    index = load_index(settings.index_dir, "m")
    found, scores = index.search(fresh, 1)
    assert found[0, 0] == ids[1] and scores[0, 0] == pytest.approx(1.0, abs=1e-5)  # searchable with its new vector
    assert int(ids[0]) not in set(index.rows.track_ids.tolist())
    assert verify_index(session, index).ok
    assert sync_index(session, settings, "m", backend=CPU).action == "unchanged"


def test_verify_detects_a_removed_id_an_altered_vector_and_a_stale_id(session: Session, settings: Settings) -> None:
    rng = np.random.default_rng(1)
    ids = add_tracks(session, clustered(rng, 30, 8))
    sync_index(session, settings, "m", backend=CPU)
    index = load_index(settings.index_dir, "m")
    assert verify_index(session, index).ok

    index.index.remove_ids(np.array([ids[3]], dtype=np.int64))
    report = verify_index(session, index)
    assert not report.ok and report.missing == [int(ids[3])]

    sync_index(session, settings, "m", backend=CPU, rebuild=True)
    index = load_index(settings.index_dir, "m")
    vector = index.index.reconstruct(int(ids[4]))
    index.index.remove_ids(np.array([ids[4]], dtype=np.int64))
    index.index.add_with_ids((vector[::-1]).reshape(1, -1).copy(), np.array([ids[4]], dtype=np.int64))
    save_index(index, settings.index_dir)
    assert verify_index(session, load_index(settings.index_dir, "m")).mismatched == [int(ids[4])]

    sync_index(session, settings, "m", backend=CPU, rebuild=True)
    session.execute(update(Track).where(Track.id == int(ids[5])).values(status="deleted"))
    session.flush()
    report = verify_index(session, load_index(settings.index_dir, "m"))
    assert not report.ok and report.stale == [int(ids[5])]
    status = index_status(session, settings.index_dir, "m")
    assert not status.fingerprint_match and status.stale_since_save == 1
