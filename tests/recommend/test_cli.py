"""The CLI contract end to end on real audio."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import open_database
from soundalike.ingest.errors import PreconditionError
from soundalike.ingest.settings import Settings

from support.cli_runner import label_tagged_files, run_cli

EACH_MODEL = pytest.mark.parametrize(
    "settings", [pytest.param("musicnn-msd", marks=pytest.mark.slow), "mfcc-stats"], indirect=True
)


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> Settings:
    """Settings with MFCC statistics as the embedding model, or the model a test takes as its parameter."""
    home = tmp_path / "home"
    home.mkdir()
    return Settings(home=home, database_url=db_url, embedding_model=getattr(request, "param", "mfcc-stats"))


@pytest.fixture
def catalogue(library: Path, tmp_path: Path, settings: Settings) -> dict[str, int]:
    """The library ingested and indexed through the CLI; maps file name -> track id."""
    folder = tmp_path / "music"
    shutil.copytree(library, folder)
    report = run_cli(settings, "ingest", str(folder), "--workers", "2")
    assert (report["added"], report["failed"]) == (12, 1)
    assert report["failures"][0]["path"].endswith("notes.mp3") and report["failures"][0]["reason"]
    built = run_cli(settings, "index", "build")
    assert built["count"] == 12 and built["model_name"] == settings.embedding_model
    with open_database(settings.db_url)() as session:
        return {Path(p).name: tid for tid, p in session.execute(select(Track.id, Track.path))}


def style_of(result: dict[str, Any]) -> str:
    return Path(result["path"]).name.split("_")[0]


@EACH_MODEL
def test_similar_by_id_ranks_same_style_first_without_itself(settings: Settings, catalogue: dict[str, int]) -> None:
    track_id = catalogue["drone_02.flac"]
    results = run_cli(settings, "similar", str(track_id), "-k", "5")["results"]
    assert len(results) == 5
    assert track_id not in [r["track_id"] for r in results]
    assert all(style_of(r) == "drone" for r in results)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert set(results[0]) >= {"track_id", "path", "score"}


@EACH_MODEL
def test_similar_by_path_finds_the_same_recording(
    library: Path, tmp_path: Path, settings: Settings, catalogue: dict[str, int]
) -> None:
    copy = tmp_path / "query.wav"
    shutil.copy(library / "beat" / "beat_05.ogg", copy)
    results = run_cli(settings, "similar", "--path", str(copy), "-k", "3")["results"]
    assert Path(results[0]["path"]).name == "beat_05.ogg"
    assert results[0]["score"] > 0.99


def test_similar_by_the_path_of_a_catalogued_file_is_similar_by_its_id_until_the_file_changes(
    library: Path, tmp_path: Path, settings: Settings, catalogue: dict[str, int]
) -> None:
    catalogued = tmp_path / "music" / "drone" / "drone_02.flac"
    by_id = run_cli(settings, "similar", str(catalogue["drone_02.flac"]), "-k", "5")
    assert run_cli(settings, "similar", "--path", str(catalogued), "-k", "5") == by_id
    assert by_id["seeds"] == [catalogue["drone_02.flac"]]
    shutil.copy(library / "beat" / "beat_05.ogg", catalogued)  # not the file ingest read any more
    changed = run_cli(settings, "similar", "--path", str(catalogued), "-k", "3")
    assert changed["seeds"] == [] and Path(changed["results"][0]["path"]).name == "beat_05.ogg"


@EACH_MODEL
def test_recommend_ranks_unheard_tracks_of_the_users_style(
    settings: Settings, catalogue: dict[str, int], tmp_path: Path
) -> None:
    history = tmp_path / "history.csv"
    lines = ["user,track,played_at,ms_played,skipped"]
    heard = ["beat_01.wav", "beat_03.flac", "beat_05.ogg"]
    for day, name in enumerate(heard, 1):
        lines.append(f"ann,{catalogue[name]},2025-03-0{day}T12:00:00Z,200000,false")
    lines.append(f"ann,{catalogue['drone_00.wav']},2025-03-09T12:00:00Z,3000,true")
    history.write_text("\n".join(lines) + "\n")
    imported = run_cli(settings, "history", "import", str(history))
    assert imported == {"imported": 4, "duplicates": 0, "errors": [], "format": "soundalike", "unmatched": 0}
    assert run_cli(settings, "history", "import", str(history))["duplicates"] == 4
    results = run_cli(settings, "recommend", "ann", "-n", "3")["results"]
    names = [Path(r["path"]).name for r in results]
    assert len(names) == 3
    assert not set(names) & set(heard + ["drone_00.wav"])
    assert all(name.startswith("beat") for name in names)
    assert run_cli(settings, "history", "delete", "ann") == {"user": "ann", "deleted": 4}
    assert run_cli(settings, "history", "import", str(history))["imported"] == 4


def test_labels_import_then_genres_list_by_source(
    settings: Settings, catalogue: dict[str, int], tmp_path: Path
) -> None:
    csv = tmp_path / "music" / "labels.csv"
    csv.write_text("path,genre\ndrone/drone_00.wav,Ambient\n")
    assert run_cli(settings, "labels", "import", str(csv))["imported"] == 1
    labelled = run_cli(settings, "genres", "list", "--source", "label")["tracks"]
    assert [(Path(t["path"]).name, t["genre"], t["source"]) for t in labelled] == [("drone_00.wav", "Ambient", "label")]


@pytest.mark.unmigrated
def test_db_upgrade_on_an_empty_database(settings: Settings) -> None:
    assert run_cli(settings, "db", "upgrade")["upgraded"] is True


@pytest.mark.slow
def test_console_script_reports_unknown_track_as_json_error(settings: Settings, catalogue: dict[str, int]) -> None:
    script = Path(sys.executable).with_name("soundalike")
    done = subprocess.run(
        [str(script), "--home", str(settings.home), "similar", "999999", "--json"],
        capture_output=True,
        text=True,
        env={
            "SOUNDALIKE_DATABASE_URL": settings.db_url,
            "PATH": "/usr/bin:/bin",
            "SOUNDALIKE_EMBEDDING_MODEL": settings.embedding_model,
        },
        timeout=120,
    )
    assert done.returncode == 2
    assert json.loads(done.stdout) == {"error": "no track with id 999999", "type": "NotFoundError"}
    assert "Traceback" not in done.stderr


@EACH_MODEL
def test_genres_train_then_predict_tags_unlabelled_tracks_without_touching_labels(
    settings: Settings, catalogue: dict[str, int], tmp_path: Path
) -> None:
    with pytest.raises(PreconditionError, match="at least 2 genres.*label tracks of two genres or more first"):
        run_cli(settings, "genres", "train")  # file tags alone are no taxonomy
    assert label_tagged_files(settings, tmp_path / "music") == 8
    model = run_cli(settings, "genres", "train")
    assert model["classes"] == ["beat", "drone"] and model["n_train"] >= 4
    assert model["accuracy"] is not None and model["accuracy"] >= 0.75  # chance is 0.5
    predicted = run_cli(settings, "genres", "predict")["predicted"]
    assert predicted == 4  # the four untagged wav files
    rows = run_cli(settings, "genres", "list", "--source", "predicted")["tracks"]
    assert {Path(r["path"]).name for r in rows} == {"drone_00.wav", "beat_01.wav", "drone_08.wav", "beat_09.wav"}
    for row in rows:
        assert row["genre"] == Path(row["path"]).name.split("_")[0]
        assert 0.5 < row["confidence"] <= 1.0
    assert run_cli(settings, "genres", "list", "--source", "tag")["tracks"] == []  # every track has a better genre
    tags = run_cli(settings, "genres", "list", "--all", "--source", "tag")["tracks"]
    assert len(tags) == 8 and all(t["confidence"] is None for t in tags)
