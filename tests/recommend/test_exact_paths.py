"""File names that are not valid UTF-8 survive JSON and M3U output byte for byte."""

from __future__ import annotations

import base64
import os
import unicodedata
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.settings import Settings
from soundalike.recommend.api.app import create_app
from soundalike.recommend.api_keys import create_key

from support.audio_factory import make_track
from support.cli_runner import run_cli
from support.servers import LOOPBACK

LATIN1_NAME = b"caf\xe9.wav"


def no_private_use(text: str) -> bool:
    return all(unicodedata.category(c) != "Co" for c in text)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    return Settings(home=home, database_url=db_url, embedding_model="mfcc-stats")


@pytest.fixture
def odd_file(tmp_path: Path, settings: Settings) -> Path:
    """A library with one Latin-1 named file among UTF-8 ones, ingested and indexed through the CLI."""
    folder = tmp_path / "music"
    odd = Path(os.fsdecode(os.fsencode(folder) + b"/" + LATIN1_NAME))
    make_track(folder / "plain.wav", "drone", seed=1).rename(odd)
    make_track(folder / "drone_2.wav", "drone", seed=2)
    make_track(folder / "beat_3.wav", "beat", seed=3)
    make_track(folder / "beat_4.wav", "beat", seed=4)
    report = run_cli(settings, "ingest", str(folder), "--workers", "1")
    assert (report["added"], report["failed"]) == (4, 0)
    run_cli(settings, "index", "build")
    return odd


def odd_track_id(settings: Settings) -> int:
    with open_database(settings.db_url)() as session:
        return next(tid for tid, path in session.execute(select(Track.id, Track.path)) if "caf" in path)


def test_json_path_is_readable_and_path_bytes_are_exact(settings: Settings, odd_file: Path) -> None:
    seed = run_cli(settings, "similar", "--path", str(odd_file.parent / "drone_2.wav"), "-k", "4")["results"]
    row = next(r for r in seed if "caf" in r["path"])
    assert no_private_use(row["path"])
    assert row["path"] == os.fsencode(odd_file).decode("utf-8", errors="replace")
    assert base64.b64decode(row["path_bytes"]) == os.fsencode(odd_file)
    ordinary = next(r for r in seed if r["path"].endswith("beat_3.wav"))
    assert ordinary["path_bytes"] is None


def test_m3u_line_holds_the_files_exact_bytes(settings: Settings, odd_file: Path, tmp_path: Path) -> None:
    playlist = tmp_path / "out.m3u"
    run_cli(settings, "similar", "--path", str(odd_file.parent / "drone_2.wav"), "-k", "4", "--m3u", str(playlist))
    lines = playlist.read_bytes().splitlines()
    entries = [line for line in lines if not line.startswith(b"#")]
    assert os.fsencode(odd_file) in entries
    assert all(os.path.exists(entry) for entry in entries)


def test_api_results_and_track_pages_give_readable_paths_and_exact_bytes(settings: Settings, odd_file: Path) -> None:
    track_id = odd_track_id(settings)
    with session_scope(open_database(settings.db_url)) as session:
        key = create_key(session, "reader", "read")
    with TestClient(create_app(settings), base_url=LOOPBACK, headers={"Authorization": f"Bearer {key}"}) as client:
        similar = client.get(f"/tracks/{track_id}/similar", params={"k": 3}).json()["results"]
        detail = client.get(f"/tracks/{track_id}").json()
        neighbour = client.get(f"/tracks/{similar[0]['track_id']}/similar", params={"k": 3}).json()["results"]
    row = next(r for r in neighbour if r["track_id"] == track_id)
    for data in (row, detail):
        assert no_private_use(data["path"])
        assert base64.b64decode(data["path_bytes"]) == os.fsencode(odd_file)
