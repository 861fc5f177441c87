"""A killed ingest (SIGKILL included) leaves no decoding worker alive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from soundalike.ingest.settings import Settings

from support.audio_factory import make_track
from support.processes import alive, children

CLI = "from soundalike.cli import main; main()"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_sigkill_of_an_ingest_leaves_no_live_worker(tmp_path: Path) -> None:
    music = tmp_path / "music"
    for n in range(40):
        make_track(music / f"t{n:02d}.flac", "drone", seed=n, seconds=4.0, sr=16000)
    settings = Settings(home=tmp_path / "home", embedding_model="mfcc-stats")
    env = {**os.environ, "SOUNDALIKE_DATABASE_URL": settings.db_url, "SOUNDALIKE_EMBEDDING_MODEL": "mfcc-stats"}
    command = [sys.executable, "-c", CLI, "--home", str(settings.home), "ingest", str(music), "--workers", "2"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while time.monotonic() < deadline and process.poll() is None and len(workers) < 2:
        workers = children(process.pid)
        time.sleep(0.05)
    assert process.poll() is None and len(workers) >= 2, "no worker processes seen while the ingest ran"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(w) for w in workers):
        time.sleep(0.05)
    assert not [w for w in workers if alive(w)]
