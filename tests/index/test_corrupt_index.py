"""A damaged index file is caught by its sidecar checksum, reported, and rebuilt from the database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from soundalike.index.backends import CpuBackend
from soundalike.index.sync import sync_index
from soundalike.index.track_index import load_index, read_meta
from soundalike.index.verify import index_status
from soundalike.ingest.errors import IndexCorruptError
from soundalike.ingest.settings import Settings

from support.index_helpers import add_tracks, clustered


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [truncate, flip_a_byte])
@pytest.mark.parametrize("which", [0, -1])
def test_a_damaged_file_is_refused_reported_and_rebuilt(
    session: Session, settings: Settings, damage: Callable[[Path], None], which: int
) -> None:
    rng = np.random.default_rng(1)
    add_tracks(session, clustered(rng, 60, 8))
    sync_index(session, settings, "m", backend=CpuBackend())
    meta = read_meta(settings.index_dir, "m")
    assert set(meta.checksums) == set(meta.files)
    damage(settings.index_dir / meta.files[which])

    with pytest.raises(IndexCorruptError, match="index build"):
        load_index(settings.index_dir, "m")
    status = index_status(session, settings.index_dir, "m")
    assert not status.intact and "corrupt" in str(status.problem)

    repaired = sync_index(session, settings, "m", backend=CpuBackend())
    assert repaired.action == "built" and repaired.meta.count == 60
    assert index_status(session, settings.index_dir, "m").intact
    ids, _ = load_index(settings.index_dir, "m").search(clustered(rng, 3, 8), 5)
    assert (ids >= 1).all()


def test_a_sidecar_that_is_not_json_is_corrupt_and_rebuilt(session: Session, settings: Settings) -> None:
    add_tracks(session, clustered(np.random.default_rng(2), 20, 8))
    sync_index(session, settings, "m", backend=CpuBackend())
    (settings.index_dir / "m.json").write_bytes(b"\x00\x01 not json")
    with pytest.raises(IndexCorruptError):
        load_index(settings.index_dir, "m")
    assert sync_index(session, settings, "m", backend=CpuBackend()).action == "built"
