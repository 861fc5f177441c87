"""Sync with a Subsonic server answering recorded OpenSubsonic shapes: plays, stars and ratings become
history, the playlist is pushed in place, a second sync changes nothing, and failures are recorded."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from soundalike.cli.failures import EXIT_FAILURE
from soundalike.ingest.db.models import MediaServerAccount, MediaSyncRun
from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.listening import get_user, user_events
from soundalike.ingest.schedule import ScheduledJob, build_scheduler, build_trigger
from soundalike.recommend.media_sync.run import scheduled_sync
from soundalike.recommend.media_sync.secrets import key_path

from support.cli_runner import cli_env, console
from support.recommend_fixtures import Catalogue
from support.subsonic_stub import StubLibrary, serving

PLAYED = "2026-11-30T20:15:00Z"
STARRED = "2026-11-29T08:00:00.000Z"


def song(track: int, genre: str, album: int, n: int, **extra: Any) -> dict[str, Any]:
    """A Navidrome-shaped song entry for the catalogue's track ``track`` under the server's root ``/data``."""
    return {
        "id": f"nd-{track}",
        "path": f"/data/{genre}/{album}/{n}.flac",
        "title": f"{genre} {album}-{n}",
        "artist": f"{genre} artist {album}",
        "duration": 200,
        "isDir": False,
        **extra,
    }


def stub_library() -> StubLibrary:
    """Ambient songs 7..12 (album 1) and 13..18 (album 2); plays, a star and ratings on some; one unknown song."""
    songs = [song(6 + n + 1, "ambient", 1, n) for n in range(6)] + [song(12 + n + 1, "ambient", 2, n) for n in range(6)]
    songs[0] |= {"playCount": 3, "played": PLAYED}
    songs[1] |= {"starred": STARRED}
    songs[2] |= {"userRating": 5}
    songs[3] |= {"userRating": 1}
    songs.append(
        {"id": "nd-x", "path": "/data/elsewhere/x.flac", "title": "Nobody", "artist": "Unknown", "duration": 90}
    )
    own = {"name": "Soundalike · For you", "owner": "alice", "songs": ["nd-13"]}
    return StubLibrary(songs=songs, playlists={"mine": own})


def invoke(catalogue: Catalogue, *args: str, stdin: str | None = None) -> tuple[int, dict[str, Any], str]:
    """``soundalike ARGS --json`` on the catalogue through the console entry point (``console``)."""
    return console(catalogue.settings, *args, stdin=stdin)


def add_server(catalogue: Catalogue, url: str, stub: StubLibrary) -> dict[str, Any]:
    code, data, _ = invoke(
        catalogue,
        "server",
        "add",
        "stub",
        url,
        "--user",
        stub.user,
        "--password-stdin",
        "--path-map",
        "/music=/data",
        stdin=stub.password + "\n",
    )
    assert code == 0, data
    return data


def plays(catalogue: Catalogue, name: str) -> list[tuple[int, datetime, bool]]:
    with session_scope(open_database(catalogue.settings.db_url)) as session:
        return user_events(session, get_user(session, name).id)


def test_plays_stars_and_ratings_become_history_and_a_second_sync_changes_nothing(catalogue: Catalogue) -> None:
    stub = stub_library()
    with serving(stub) as url:
        add_server(catalogue, url, stub)
        code, first, _ = invoke(catalogue, "sync", "stub")
        assert code == 0, first
        assert (first["songs"], first["matched"], first["unmatched"]) == (13, 12, 1)
        assert first["events_added"] == 3 + 3 + 2 + 1
        assert (first["playlists_created"], first["playlists_updated"], first["errors"]) == (1, 0, [])

        events = plays(catalogue, "stub:alice")
        played_at = datetime(2026, 11, 30, 20, 15, tzinfo=UTC)
        assert sorted(p.replace(tzinfo=UTC) for t, p, _ in events if t == 7)[-1] == played_at
        assert [s for t, _, s in events if t == 10] == [True]
        assert sum(1 for t, _, s in events if t == 8 and not s) == 3

        code, second, _ = invoke(catalogue, "sync", "stub")
        assert code == 0
        assert (second["events_added"], second["playlists_created"], second["playlists_updated"]) == (0, 0, 0)
    ours = [p for i, p in stub.playlists.items() if i != "mine"]
    assert [p["name"] for p in ours] == ["Soundalike · For you"]
    assert ours[0]["songs"] and set(ours[0]["songs"]) <= {s["id"] for s in stub.songs} - {"nd-x"}
    assert stub.playlists["mine"]["songs"] == ["nd-13"]


def test_the_library_mixes_are_pushed_with_only_the_servers_songs_and_once(catalogue: Catalogue) -> None:
    code, made, _ = invoke(catalogue, "mixes", "refresh")
    assert code == 0, made
    stub = stub_library()
    on_server = {s["id"] for s in stub.songs} - {"nd-x"}
    with serving(stub) as url:
        add_server(catalogue, url, stub)
        code, first, _ = invoke(catalogue, "sync", "stub")
        assert code == 0, first
        mixes = [p for p in stub.playlists.values() if p["name"].startswith("Soundalike · Mix · ")]
        assert mixes and first["playlists_created"] == 1 + len(mixes)
        assert all(p["songs"] and set(p["songs"]) <= on_server for p in mixes)
        code, second, _ = invoke(catalogue, "sync", "stub")
        assert (second["playlists_created"], second["playlists_updated"]) == (0, 0)
    code, listed, _ = invoke(catalogue, "mixes")
    names = {f"Soundalike · Mix · {m['name']}" for m in listed["mixes"]}
    assert {p["name"] for p in mixes} <= names


def test_a_play_count_that_grew_adds_the_difference_and_the_playlist_is_updated_in_place(catalogue: Catalogue) -> None:
    stub = stub_library()
    with serving(stub) as url:
        add_server(catalogue, url, stub)
        assert invoke(catalogue, "sync", "stub")[0] == 0
        made = [i for i in stub.playlists if i != "mine"]
        for entry in stub.songs[6:12]:
            entry |= {"playCount": 2, "played": "2026-12-01T09:00:00Z"}
        stub.songs[0] |= {"playCount": 5, "played": "2026-12-01T10:00:00Z"}
        code, data, _ = invoke(catalogue, "sync", "stub")
    assert code == 0
    assert data["events_added"] == 6 * 2 + 2
    assert data["playlists_created"] == 0
    assert [i for i in stub.playlists if i != "mine"] == made
    assert sum(1 for t, _, _ in plays(catalogue, "stub:alice") if t == 7) == 5


def test_a_song_renamed_on_the_server_is_matched_again_or_reported(catalogue: Catalogue) -> None:
    stub = stub_library()
    with serving(stub) as url:
        add_server(catalogue, url, stub)
        invoke(catalogue, "sync", "stub")
        stub.songs[5] |= {"path": "/data/renamed/5.flac"}
        stub.songs[6] |= {"path": "/data/renamed/6.flac", "title": "Retitled", "artist": "Someone"}
        code, data, _ = invoke(catalogue, "sync", "stub")
    assert code == 0
    assert data["matched"] == 11
    assert [u["song"] for u in data["unmatched_songs"]] == ["nd-13", "nd-x"]
    assert "unknown track 'Someone' - 'Retitled'" in data["unmatched_songs"][0]["reason"]
    assert "nd-13" not in next(p for i, p in stub.playlists.items() if i != "mine")["songs"]


@pytest.mark.parametrize("mode", ["wrong_password", "slow", "malformed_json", "xml", "http500", "down"])
def test_a_failing_server_is_a_recorded_failure_with_exit_2(catalogue: Catalogue, mode: str) -> None:
    stub = stub_library()
    with serving(stub) as url:
        add_server(catalogue, url, stub)
        stub.mode = mode
        if mode == "wrong_password":
            stub.password = "changed"
        if mode == "down":
            stub.mode = "ok"
    if mode != "down":
        with serving(stub) as moved:
            with session_scope(open_database(catalogue.settings.db_url)) as session:
                session.execute(MediaServerAccount.__table__.update().values(url=moved))
            code, data, output = invoke(catalogue, "sync", "stub", "--timeout", "0.5")
            tested = invoke(catalogue, "server", "test", "stub", "--timeout", "0.5")
    else:
        code, data, output = invoke(catalogue, "sync", "stub", "--timeout", "0.5")
        tested = invoke(catalogue, "server", "test", "stub", "--timeout", "0.5")
    assert code == EXIT_FAILURE
    assert [e["account"] for e in data["errors"]] == ["stub:alice"]
    assert "s3cret-pw" not in output
    with session_scope(open_database(catalogue.settings.db_url)) as session:
        run = session.scalars(select(MediaSyncRun)).one()
        assert (run.status, json.loads(run.errors)[0]["account"]) == ("failed", "stub:alice")
    assert tested[0] == EXIT_FAILURE and tested[1]["type"] == "MediaServerError"
    assert "s3cret-pw" not in tested[2]


def test_the_secret_is_encrypted_at_rest_and_never_shown(catalogue: Catalogue) -> None:
    stub = stub_library()
    with serving(stub) as url:
        added = add_server(catalogue, url, stub)
        code, tested, _ = invoke(catalogue, "server", "test", "stub")
    assert code == 0 and tested["users"][0]["user"] == "alice"
    code, listed, output = invoke(catalogue, "server", "list")
    assert listed["servers"] == [added] and added["listener"] == "stub:alice"
    assert stub.password not in output + json.dumps(added)
    key = key_path(catalogue.settings.home)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    with session_scope(open_database(catalogue.settings.db_url)) as session:
        stored = session.scalars(select(MediaServerAccount.secret)).one()
    assert stub.password.encode() not in stored
    code, removed, _ = invoke(catalogue, "server", "remove", "stub")
    assert (code, removed["removed"]) == (0, 1)
    assert invoke(catalogue, "sync", "stub")[0] == EXIT_FAILURE


@pytest.mark.parametrize(
    ("args", "secret", "refusal"),
    [
        (("stub", "ftp://host", "--user", "a", "--password-stdin"), "pw", "is not an http"),
        (("stub", "http://a:b@host", "--user", "a", "--password-stdin"), "pw", "holds credentials"),
        (("st:ub", "http://host", "--user", "a", "--password-stdin"), "pw", "holds ':'"),
        (("stub", "http://host", "--user", "a", "--password-stdin"), "", "is empty"),
        (("stub", "http://host", "--user", "a"), "pw", "exactly one"),
    ],
)
def test_server_add_refuses_bad_input(catalogue: Catalogue, args: tuple[str, ...], secret: str, refusal: str) -> None:
    code, data, _ = invoke(catalogue, "server", "add", *args, stdin=secret + "\n")
    assert code == EXIT_FAILURE
    assert refusal in data.get("error", "")


def test_schedule_runs_sync_on_its_own_job_and_a_down_server_is_recorded_not_raised(
    catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub = stub_library()
    with serving(stub) as url:
        add_server(catalogue, url, stub)
    for key, value in cli_env(catalogue.settings).items():
        monkeypatch.setenv(key, str(value))
    scheduler = build_scheduler(
        catalogue.settings,
        [],
        build_trigger(interval_minutes=60, cron=None),
        jobs=[ScheduledJob("soundalike-sync", "sync", scheduled_sync, {"home": str(catalogue.settings.home)})],
    )
    assert [job.id for job in scheduler.get_jobs()] == ["soundalike-sync"]
    report = scheduled_sync(str(catalogue.settings.home))
    assert report is not None and [e["account"] for e in report.errors] == ["stub:alice"]
    with session_scope(open_database(catalogue.settings.db_url)) as session:
        assert [r.status for r in session.scalars(select(MediaSyncRun))] == ["failed"]
