"""``history import`` of ListenBrainz listens exports and Last.fm scrobble CSVs, the format read from content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from soundalike.ingest.db.models import ListeningEvent, Track, User
from soundalike.ingest.errors import InputError
from soundalike.ingest.history import import_history
from soundalike.ingest.settings import Settings

from support.cli_runner import cli_failure, run_cli

MBID = "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"
T0 = 1_700_000_000


@pytest.fixture
def tracks(session: Session) -> None:
    rows = [
        {"id": 1, "path": "/m/1.flac", "title": "Teardrop", "artist": "Massive Attack", "duration": 330.0},
        {"id": 2, "path": "/m/2.flac", "title": "Angel", "artist": "Massive Attack", "duration": 379.0},
        {"id": 3, "path": "/m/3.flac", "title": "Hyperballad", "artist": "Björk", "musicbrainz_track_id": MBID},
    ]
    session.execute(insert(Track), [r | {"size": 1, "mtime": 0.0, "status": "ok"} for r in rows])
    session.commit()


def listen(at: object, artist: str, title: str, **info: object) -> dict[str, object]:
    meta: dict[str, object] = {"artist_name": artist, "track_name": title, "release_name": "x"}
    if info:
        meta["additional_info"] = info
    return {"listened_at": at, "track_metadata": meta, "user_name": "lb-user"}


LISTENS = [
    listen(T0, "Massive Attack", "Teardrop", duration_ms=331000),
    listen(T0 + 400, "bjork", "Something Else", recording_mbid=MBID),
    listen(T0 + 800, "Unknown Artist", "Unknown Song"),
    listen(T0, "Massive Attack", "Teardrop"),
    listen("yesterday", "Massive Attack", "Angel"),
    listen(T0 + 1200, "Massive Attack", "Angel", duration_ms=200000),
]


@pytest.mark.parametrize("layout", ["array", "lines"])
def test_a_listenbrainz_export_imports_with_every_unmatched_listen_reported(
    tmp_path: Path, session: Session, tracks: None, layout: str
) -> None:
    path = tmp_path / "listens.txt"
    text = json.dumps(LISTENS, indent=2) if layout == "array" else "\n".join(map(json.dumps, LISTENS))
    path.write_text(text)
    report = import_history(session, path)
    session.commit()
    assert (report.format, report.imported, report.duplicates, report.unmatched) == ("listenbrainz", 2, 1, 2)
    reasons = [e["reason"] for e in report.errors]
    assert "unknown track 'Unknown Artist' - 'Unknown Song'" in reasons[0]
    assert "listened_at 'yesterday' is not a number" in reasons[1]
    assert "not 200 s long" in reasons[2]
    assert session.scalars(select(User.name)).all() == ["lb-user"]
    again = import_history(session, path, user="lb-user")
    assert (again.imported, again.duplicates) == (0, 3)


def test_each_array_item_is_reported_at_its_line(tmp_path: Path, session: Session, tracks: None) -> None:
    path = tmp_path / "listens.json"
    path.write_text(json.dumps(LISTENS, indent=1))
    report = import_history(session, path)
    lines = path.read_text().splitlines()
    for error in report.errors:
        assert lines[int(str(error["line"])) - 1].strip() == "{"


LASTFM = (
    "uts,utc_time,artist,artist_mbid,album,album_mbid,track,track_mbid\n"
    f'{T0},"14 Nov 2023, 22:13",Massive Attack,,Mezzanine,,Teardrop,\n'
    f',"15 Nov 2023, 08:00",Björk,,Post,,Hyperballad,{MBID}\n'
    f'{T0},"14 Nov 2023, 22:13",Massive Attack,,Mezzanine,,Teardrop,\n'
    ',"not a date",Massive Attack,,Mezzanine,,Angel,\n'
    f"{T0 + 60},,Nobody,,Nothing,,Nowhere,\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_lastfm_scrobble_csv_imports_in_either_encoding(
    tmp_path: Path, session: Session, tracks: None, encoding: str
) -> None:
    path = tmp_path / "scrobbles.csv"
    path.write_bytes(LASTFM.encode(encoding))
    report = import_history(session, path, user="ann")
    session.commit()
    assert (report.format, report.imported, report.duplicates, report.unmatched) == ("lastfm", 2, 1, 1)
    assert [e["line"] for e in report.errors] == [5, 6]
    assert "utc_time 'not a date'" in str(report.errors[0]["reason"])
    played = session.scalars(select(ListeningEvent.track_id).order_by(ListeningEvent.played_at)).all()
    assert played == [1, 3]


def test_a_lastfm_export_needs_a_listener(tmp_path: Path, session: Session, tracks: None) -> None:
    path = tmp_path / "scrobbles.csv"
    path.write_text(LASTFM)
    with pytest.raises(InputError, match="--user"):
        import_history(session, path)
    assert session.scalar(select(func.count(ListeningEvent.id))) == 0


def test_history_import_command_reads_an_export_for_a_listener(
    tmp_path: Path, settings: Settings, tracks: None
) -> None:
    path = tmp_path / "listens.jsonl"
    path.write_text("\n".join(json.dumps(listen(T0 + i, "Nobody", f"Song {i}")) for i in range(3)))
    failure = cli_failure(settings, "history", "import", str(path), "--user", "ann")
    assert "no row of" in failure["error"] and "unknown track 'Nobody' - 'Song 0'" in failure["error"]
    path.write_text(path.read_text() + "\n" + json.dumps(listen(T0, "Massive Attack", "Angel")))
    report = run_cli(settings, "history", "import", str(path), "--user", "ann")
    assert (report["format"], report["imported"], report["unmatched"]) == ("listenbrainz", 1, 3)
