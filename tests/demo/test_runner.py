"""The demo runner: the whole job on a music folder, and the listening history it simulates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.demo.runner import simulated_history


@pytest.mark.slow
def test_demo_runs_the_whole_job_on_a_music_folder(library: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["--home", str(tmp_path / "home"), "demo", "--music", str(library), "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["ingest"]["added"] == 12 and summary["ingest"]["failed"] == 1
    assert summary["index"]["count"] == 12
    assert summary["genre_model"]["classes"] == ["beat", "drone"]
    assert len(summary["predicted"]) == 8  # every track but the third of each folder the demo labelled
    assert sum(Path(p["path"]).parent.name == p["genre"] for p in summary["predicted"]) >= 6
    assert len(summary["similar"]["results"]) == 5
    assert set(summary["playlists"]) == {"beat-fan", "drone-fan"}
    for user, playlist in summary["playlists"].items():
        assert Path(playlist[0]["path"]).name.startswith(user.split("-")[0])  # an unheard track of its style
    assert summary["genre_eval"]["n"] >= 1 and 0.0 <= summary["genre_eval"]["accuracy"] <= 1.0
    assert Path(summary["genre_eval"]["confusion_png"]).stat().st_size > 0
    retrieval = summary["retrieval"]  # the default fusion model cuts excerpts of 1 s and up, so short tracks count
    assert retrieval["model_name"] == "fusion" and retrieval["tracks"] >= 2
    assert 0.0 <= retrieval["recall@1"] <= 1.0


def test_each_folder_gets_one_fan_who_plays_only_that_folder() -> None:
    folders = {"beat": [1, 2, 3, 4], "drone": [5, 6, 7, 8, 9, 10]}
    events = simulated_history(folders, seed=0)
    played = {user: {e["track"] for e in events if e["user"] == user} for user in {e["user"] for e in events}}
    assert set(played) == {"beat-fan", "drone-fan"}
    assert len(played["beat-fan"]) == 2 and played["beat-fan"] < set(folders["beat"])
    assert len(played["drone-fan"]) == 3 and played["drone-fan"] < set(folders["drone"])


@pytest.mark.slow
def test_demo_without_music21_exits_2_with_how_to_install_the_demo_extra(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "sys.modules['music21'] = None  # as if the [demo] extra were not installed\n"
        f"sys.argv = ['soundalike', '--home', {str(tmp_path / 'home')!r}, 'demo', '--json']\n"
        "from soundalike.cli import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 2, done.stderr
    error = json.loads(done.stdout)
    assert error["type"] == "ConfigError" and "music21" in error["error"] and ".[demo]" in error["error"]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "home" / "demo" / "debs").exists()  # refused before downloading anything
