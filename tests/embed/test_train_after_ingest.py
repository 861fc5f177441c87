"""``ingest -> labels import -> genres train -> genres predict`` with no other step, on the default model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from soundalike.ingest.settings import Settings

from support.cli_runner import label_tagged_files, run_cli


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    return Settings(home=home, database_url=f"sqlite:///{tmp_path / 'test.db'}")


def test_genres_train_right_after_ingest_embeds_what_it_needs_then_predicts(
    library: Path, tmp_path: Path, settings: Settings
) -> None:
    assert settings.embedding_model == "fusion"
    folder = tmp_path / "music"
    shutil.copytree(library, folder)
    run_cli(settings, "ingest", str(folder), "--workers", "1")
    labelled = label_tagged_files(settings, folder)
    trained = run_cli(settings, "genres", "train")
    assert trained["embedded"] == 12
    assert trained["embedding_model"] == "fusion" and trained["classes"] == ["beat", "drone"]
    predicted = run_cli(settings, "genres", "predict")
    assert predicted["predicted"] + predicted["none_of_these"] == 12 - labelled
    again = run_cli(settings, "genres", "train")
    assert again["embedded"] == 0
