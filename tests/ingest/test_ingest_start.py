"""What ``soundalike ingest`` loads: an ingest with nothing to analyse loads neither torch nor the network and
starts no worker; one with files loads them after starting its workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from soundalike.ingest.settings import Settings

from support.audio_factory import make_track

INGEST_THEN_REPORT = (
    "import json, sys\n"
    "from soundalike.cli import main\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as done:\n"
    "    code = done.code\n"
    "print(json.dumps({'code': code, 'torch': 'torch' in sys.modules}), file=sys.stderr)\n"
)


def _ingest(settings: Settings, folder: Path) -> tuple[dict[str, object], dict[str, object]]:
    """The ingest's JSON report and what the process had loaded when it ended."""
    env = {**os.environ, "SOUNDALIKE_DATABASE_URL": settings.db_url, "SOUNDALIKE_EMBEDDING_MODEL": "mfcc-stats"}
    command = [sys.executable, "-c", INGEST_THEN_REPORT, "--home", str(settings.home), "ingest", str(folder)]
    done = subprocess.run([*command, "--workers", "2", "--json"], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout), json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.slow
def test_an_ingest_with_nothing_to_analyse_does_not_load_torch(tmp_path: Path) -> None:
    music = tmp_path / "music"
    for n in range(3):
        make_track(music / f"t{n}.flac", "drone", seed=n, seconds=4.0, sr=16000)
    settings = Settings(home=tmp_path / "home", embedding_model="mfcc-stats")

    first, loaded = _ingest(settings, music)
    assert first["added"] == 3 and loaded == {"code": 0, "torch": True}

    again, loaded = _ingest(settings, music)
    assert again["added"] == 0 and again["skipped"] == 3
    assert loaded == {"code": 0, "torch": False}
