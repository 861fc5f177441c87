"""CLI: multi-seed similar with filters, playlists and paths with M3U export, playlist evaluation, tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.listening import record_events

from support.recommend_fixtures import Catalogue


def invoke(catalogue: Catalogue, *args: str) -> str:
    settings = catalogue.settings
    result = CliRunner().invoke(
        app,
        ["--home", str(settings.home), *args],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url, "SOUNDALIKE_EMBEDDING_MODEL": "mfcc-stats"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def run(catalogue: Catalogue, *args: str) -> dict[str, Any]:
    return json.loads(invoke(catalogue, *args, "--json"))


def test_similar_with_repeated_seeds_and_filters(catalogue: Catalogue) -> None:
    data = run(
        catalogue, "similar", "--seed", "5", "--seed", "40", "-k", "6", "--genre", "ambient", "--tempo-min", "70"
    )
    assert data["seeds"] == [5, 40] and len(data["results"]) == 6
    assert all("ambient" in r["genres"] and r["tempo"] >= 70 for r in data["results"])
    assert "similarity" in invoke(catalogue, "similar", "5", "-k", "3")  # the table shows why


def test_recommend_and_path_write_m3u_files(catalogue: Catalogue, tmp_path: Path) -> None:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    with session_scope(catalogue.service.factory) as session:
        record_events(session, "ann", [(t, now - timedelta(hours=t), None, False) for t in range(55, 62)])
    target = tmp_path / "ann.m3u"
    data = run(catalogue, "recommend", "ann", "-n", "5", "--m3u", str(target))
    assert data["strategy"] == "personalised" and data["m3u"] == str(target)
    lines = target.read_text().splitlines()
    assert lines[0] == "#EXTM3U" and lines[2::2] == [r["path"] for r in data["results"]]
    assert lines[1].startswith("#EXTINF:-1,") and data["results"][0]["artist"] in lines[1]
    route = tmp_path / "path.m3u"
    path = run(catalogue, "playlist", "path", "4", "70", "--steps", "6", "--m3u", str(route))
    ids = [r["track_id"] for r in path["results"]]
    assert ids[0] == 4 and ids[-1] == 70 and len(set(ids)) == 6
    assert route.read_text().count("#EXTINF") == 6


def test_eval_playlists_reports_every_strategy(catalogue: Catalogue) -> None:
    report = run(catalogue, "eval", "playlists", "--listeners", "6", "-k", "5")
    assert set(report["scores"]) == {"personalised", "popularity", "random"} and report["listeners"] == 6
    assert "hit-rate@5" in invoke(catalogue, "eval", "playlists", "--listeners", "3", "-k", "5")
