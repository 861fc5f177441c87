"""An index build killed at any point (SIGKILL) leaves the previous index loadable, and the next build brings
the index to what a clean build gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from sqlalchemy.orm import Session

from soundalike.index.backends import CpuBackend
from soundalike.index.sync import sync_index
from soundalike.index.track_index import load_index
from soundalike.index.verify import verify_index
from soundalike.ingest.settings import Settings

from support.index_helpers import add_tracks, clustered

TRACKS = 3_000
DIM = 32
BUILD = textwrap.dedent(
    """
    from pathlib import Path
    from soundalike.index.backends import CpuBackend
    from soundalike.index.sync import sync_index
    from soundalike.ingest.db.session import open_database, session_scope
    from soundalike.ingest.settings import Settings

    settings = Settings(home=Path({home!r}), database_url={url!r}, index_kind="hnsw")
    with session_scope(open_database(settings.db_url)) as session:
        sync_index(session, settings, "m", backend=CpuBackend(), rebuild=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_a_build_killed_at_a_seeded_moment_keeps_the_old_index_and_the_next_build_repairs(
    session: Session, settings: Settings, seed: int
) -> None:
    settings = settings.model_copy(update={"index_kind": "hnsw"})
    rng = np.random.default_rng(seed)
    add_tracks(session, clustered(rng, TRACKS, DIM))
    session.commit()
    first = sync_index(session, settings, "m", backend=CpuBackend())
    before = load_index(settings.index_dir, "m").meta

    script = BUILD.format(home=str(settings.home), url=settings.db_url)
    started = time.monotonic()
    clean = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True)
    took = time.monotonic() - started
    assert clean.returncode == 0
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(float(rng.uniform(0.1, 0.95)) * took)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    survivor = load_index(settings.index_dir, "m")
    assert survivor.meta.count == before.count == TRACKS and survivor.meta.kind == first.meta.kind
    assert verify_index(session, survivor).ok
    repaired = sync_index(session, settings, "m", backend=CpuBackend())
    assert repaired.meta.count == TRACKS and verify_index(session, load_index(settings.index_dir, "m")).ok
