from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from soundalike.ingest.db.models import ListeningEvent, Track, TrackGenre
from soundalike.ingest.errors import InputError
from soundalike.ingest.history import import_history
from soundalike.ingest.labels import import_labels
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.settings import Settings

from support.cli_runner import cli_failure, run_cli

pytestmark = pytest.mark.both_engines

CPU = torch.device("cpu")


def ingested(library: Path, tmp_path: Path, settings: Settings, factory: sessionmaker[Session]) -> Path:
    folder = tmp_path / "music"
    shutil.copytree(library / "drone", folder)
    ingest(factory, [folder], IngestOptions(settings=settings, device=CPU, workers=1))
    return folder


def test_history_csv_by_id_and_relative_path_is_idempotent(
    library: Path, tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    folder = ingested(library, tmp_path, settings, factory)
    with factory() as session:
        first_id = session.scalars(select(Track.id).order_by(Track.id)).first()
    csv = folder / "history.csv"
    csv.write_text(
        "user,track,played_at,ms_played,skipped\n"
        f"ann,{first_id},2025-01-01T10:00:00Z,180000,false\n"
        "ann,drone_02.flac,2025-01-02T10:00:00,,yes\n"
        "bob,missing.ogg,2025-01-02T10:00:00,,no\n"
        "bob,drone_02.flac,not-a-time,,no\n"
        ",drone_02.flac,2025-01-02T10:00:00,,no\n"
    )
    with factory() as session:
        report = import_history(session, csv)
        session.commit()
    assert report.imported == 2 and report.duplicates == 0
    assert [e["line"] for e in report.errors] == [4, 5, 6]
    assert "unknown track 'missing.ogg'" in str(report.errors[0]["reason"])
    with factory() as session:
        again = import_history(session, csv)
        session.commit()
        events = session.scalars(select(ListeningEvent).order_by(ListeningEvent.played_at)).all()
    assert again.imported == 0 and again.duplicates == 2
    assert len(events) == 2
    assert events[0].ms_played == 180000 and events[0].skipped is False
    assert events[1].ms_played is None and events[1].skipped is True


def test_history_json_lines_reports_bad_lines(
    library: Path, tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    folder = ingested(library, tmp_path, settings, factory)
    path = folder / "history.jsonl"
    good = {"user": "cy", "track": str(folder / "drone_04.ogg"), "played_at": 1735725600, "skipped": False}
    path.write_text(json.dumps(good) + "\n{broken\n" + json.dumps([1, 2]) + "\n")
    with factory() as session:
        report = import_history(session, path)
        session.commit()
    assert report.imported == 1
    assert [e["line"] for e in report.errors] == [2, 3]


def test_labels_import_attaches_label_genres(
    library: Path, tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    folder = ingested(library, tmp_path, settings, factory)
    csv = folder / "labels.csv"
    csv.write_text("path,genre\ndrone_00.wav,Ambient\ndrone_06.mp3,ambient\nnope.wav,Rock\n")
    with factory() as session:
        report = import_labels(session, csv)
        session.commit()
        labelled = session.scalar(select(func.count()).select_from(TrackGenre).where(TrackGenre.source == "label"))
    assert report.imported == 2 and labelled == 2
    assert report.errors == [{"line": 4, "reason": "unknown track 'nope.wav'"}]
    csv.write_text("path,genre\nnope.wav,Rock\ndrone_00.wav,\n")
    with (
        factory() as session,
        pytest.raises(InputError, match="line 2: unknown track 'nope.wav'; line 3: genre is missing"),
    ):
        import_labels(session, csv)


def test_a_label_row_naming_the_file_through_dotdot_finds_its_track(
    library: Path, tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    ingested(library, tmp_path, settings, factory)
    csv = tmp_path / "labels" / "labels.csv"
    csv.parent.mkdir()
    csv.write_text("path,genre\n../music/drone_00.wav,Ambient\n")
    with factory() as session:
        assert import_labels(session, csv).imported == 1


def test_history_by_artist_and_title_ignores_case_and_reports_bad_rows(
    library: Path, tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    folder = ingested(library, tmp_path, settings, factory)
    shutil.copy(folder / "drone_02.flac", folder / "copy of 2.flac")
    ingest(factory, [folder], IngestOptions(settings=settings, device=CPU, workers=1))
    with factory() as session:
        original = session.scalars(select(Track).where(Track.path == str(folder / "drone_02.flac"))).one()
        session.execute(update(Track).where(Track.path.like("%drone_10.flac")).values(title="drone 4"))
        session.commit()
    csv = folder / "by_name.csv"
    csv.write_text(
        "user,track,artist,title,played_at\n"
        "ann,,DRONE ARTIST,Drone 2,2025-03-01T10:00:00\n"
        "ann,,drone artist,no such song,2025-03-01T11:00:00\n"
        "ann,,drone artist,drone 4,2025-03-01T12:00:00\n"
        "ann,,,drone 2,2025-03-01T13:00:00\n"
    )
    with factory() as session:
        report = import_history(session, csv)
        session.commit()
    assert report.imported == 1
    assert [e["line"] for e in report.errors] == [3, 4, 5]
    assert "matches 2 tracks" in str(report.errors[1]["reason"])
    with factory() as session:
        again = import_history(session, csv)
        session.commit()
        events = session.scalars(select(ListeningEvent)).all()
    assert (again.imported, again.duplicates) == (0, 1)
    assert [e.track_id for e in events] == [original.id]


def test_history_import_reports_absurd_numbers_and_times_per_line(
    tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    with factory() as session:
        track = Track(path="/music/a.wav", size=1, mtime=0.0, status="ok")
        session.add(track)
        session.commit()
        track_id = track.id
    rows = [
        {"user": "ann", "track": track_id, "played_at": "2025-01-01T00:00:00Z", "ms_played": 1000},
        {"user": "ann", "track": track_id, "played_at": "2025-01-02T00:00:00Z", "ms_played": 10**38},
        {"user": "ann", "track": track_id, "played_at": 1e308},
        {"user": "ann", "track": track_id, "played_at": "9999-12-31T23:59:59-01:00"},
    ]
    path = tmp_path / "plays.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = run_cli(settings, "history", "import", str(path))
    assert (report["imported"], report["duplicates"]) == (1, 0)
    assert [(e["line"], e["reason"]) for e in report["errors"]] == [
        (2, f"ms_played {10**38} is outside 0..2147483647"),
        (3, "played_at 1e+308 is out of range as Unix seconds"),
        (4, "played_at 9999-12-31T23:59:59-01:00 is out of range in UTC"),
    ]


def test_history_import_of_a_file_without_a_good_row_exits_2_and_stores_nothing(
    tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    path = tmp_path / "plays.csv"
    path.write_text(f"user,track,played_at,ms_played\nann,1,2025-01-01T00:00:00Z,{'9' * 39}\nbob,1,1e308,\n")
    error = cli_failure(settings, "history", "import", str(path))
    assert error["type"] == "InputError"
    assert error["error"].startswith(f"no row of {path} could be imported (line 2: unknown track '1'; line 3:")
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(ListeningEvent)) == 0
