"""``soundalike eval genres`` and ``eval retrieval`` on the ingested test library."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.ingest.settings import Settings

from support.cli_runner import label_tagged_files, run_cli


@pytest.fixture(params=["mfcc-stats", pytest.param("musicnn-msd", marks=pytest.mark.slow)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    return Settings(home=home, database_url=db_url, embedding_model=request.param)


@pytest.fixture
def indexed(library: Path, tmp_path: Path, settings: Settings) -> Settings:
    folder = tmp_path / "music"
    shutil.copytree(library, folder)
    run_cli(settings, "ingest", str(folder), "--workers", "1")
    run_cli(settings, "index", "build")
    label_tagged_files(settings, folder)
    return settings


def test_eval_genres_scores_held_out_albums_and_writes_report_and_plot(indexed: Settings) -> None:
    run_cli(indexed, "genres", "train")
    report = run_cli(indexed, "eval", "genres")
    assert report["n"] == len(report["held_out_tracks"]) > 0
    assert report["accuracy"] >= 0.75  # two clearly different styles; chance is 0.5
    assert {r["genre"] for r in report["per_class"]} == {"beat", "drone"}
    assert sum(map(sum, report["confusion"])) == report["n"]
    png, saved = Path(report["confusion_png"]), Path(report["report"])
    assert png.parent == indexed.plots_dir and png.stat().st_size > 5000
    assert saved.parent == indexed.plots_dir / "reports"
    assert json.loads(saved.read_text())["accuracy"] == report["accuracy"]
    assert 0.0 <= report["ece"] <= 1.0
    assert Path(report["reliability_png"]).parent == indexed.plots_dir
    assert Path(report["reliability_png"]).stat().st_size > 5000


def test_eval_retrieval_finds_excerpts_of_the_same_track(indexed: Settings) -> None:
    report = run_cli(indexed, "eval", "retrieval", "--excerpts", "2")
    assert report["tracks"] == 12 and report["skipped"] == 0
    assert report["recall@10"] >= report["recall@1"] > 1 / 23  # 1 relevant among 23 other excerpts
    assert 0.0 < report["map"] <= 1.0
    # 4 albums of 3 tracks: at most 2 of the 10 neighbours share the album (0.2); chance is 2/11
    assert report["album_precision@10"] is not None and report["album_precision@10"] > 2 / 11
    assert Path(report["embedding_map_png"]).stat().st_size > 5000
    assert Path(report["report"]).is_file()


def test_eval_genres_before_training_is_a_clear_error(settings: Settings) -> None:
    result = CliRunner().invoke(
        app,
        ["--home", str(settings.home), "eval", "genres", "--json"],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url},
    )
    assert result.exit_code != 0
    assert "genres train" in str(result.exception)
