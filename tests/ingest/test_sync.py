from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import torch
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.ingest.db.models import Feature, IngestRun, ListeningEvent, Track, TrackGenre
from soundalike.ingest.errors import NotFoundError
from soundalike.ingest.listening import get_or_create_user
from soundalike.ingest.paths import from_db_path
from soundalike.ingest.pipeline import OUTSIDE, IngestOptions, ingest
from soundalike.ingest.repository import set_track_genre
from soundalike.ingest.scan import is_audio_magic, scan
from soundalike.ingest.settings import Settings
from soundalike.ingest.track_features import MFCC_STATS_NAME

CPU = torch.device("cpu")


@pytest.fixture
def music(library: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    shutil.copytree(library / "drone", folder)
    return folder


def track_at(session: Session, path: Path) -> Track:
    return session.scalars(select(Track).where(Track.path == str(path))).one()


@pytest.mark.both_engines
def test_moved_file_keeps_its_id_genres_and_history(
    music: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1))
    old = music / "drone_02.flac"
    with factory() as session:
        track = track_at(session, old)
        track_id = track.id
        set_track_genre(session, track_id, "Ambient", source="label")
        user = get_or_create_user(session, "ann")
        session.add(ListeningEvent(user_id=user.id, track_id=track_id, played_at=datetime(2025, 1, 1, tzinfo=UTC)))
        session.commit()
    new = music / "renamed" / "moved here.flac"
    new.parent.mkdir()
    old.rename(new)
    report = ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1))
    assert (report.moved, report.added, report.updated, report.deleted) == (1, 0, 0, 0)
    with factory() as session:
        moved = session.get(Track, track_id)
        assert moved is not None and moved.path == str(new) and moved.status == "ok"
        sources = set(session.scalars(select(TrackGenre.source).where(TrackGenre.track_id == track_id)))
        assert sources == {"tag", "label"}
        assert session.scalars(select(ListeningEvent.track_id)).all() == [track_id]
        assert session.scalars(select(Track).where(Track.path == str(old))).first() is None
        run = session.get(IngestRun, report.run_id)
        assert run is not None and run.moved == 1


@pytest.mark.both_engines
def test_deleted_file_is_marked_and_kept_then_revived_when_it_returns(
    music: Path, tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1))
    target = music / "drone_04.ogg"
    keep = tmp_path / "kept.ogg"
    shutil.move(target, keep)
    gone = ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1))
    assert (gone.deleted, gone.skipped, gone.moved) == (1, 5, 0)
    with factory() as session:
        track = track_at(session, target)
        assert track.status == "deleted" and track.deleted_at is not None
        assert session.scalars(
            select(Feature).where(Feature.track_id == track.id, Feature.name == MFCC_STATS_NAME)
        ).one()
        run = session.get(IngestRun, gone.run_id)
        assert run is not None and run.deleted == 1
        track_id = track.id
    again = ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1))
    assert again.deleted == 0
    shutil.move(keep, target)
    back = ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1))
    assert (back.revived, back.added, back.deleted) == (1, 0, 0)
    with factory() as session:
        track = track_at(session, target)
        assert track.id == track_id and track.status == "ok" and track.deleted_at is None


@pytest.mark.both_engines
def test_identical_audio_under_two_paths_points_at_the_first(
    music: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    shutil.copy(music / "drone_00.wav", music / "zz copy.wav")
    report = ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=2))
    assert (report.added, report.duplicates) == (7, 1)
    with factory() as session:
        first, copy = track_at(session, music / "drone_00.wav"), track_at(session, music / "zz copy.wav")
        assert first.duplicate_of_id is None and copy.duplicate_of_id == first.id
        run = session.get(IngestRun, report.run_id)
        assert run is not None and run.duplicates == 1
    shutil.copy(music / "drone_00.wav", music / "later copy.wav")
    later = ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1))
    assert (later.added, later.duplicates) == (1, 1)
    with factory() as session:
        assert track_at(session, music / "later copy.wav").duplicate_of_id == first.id


@pytest.mark.both_engines
def test_touched_but_unchanged_file_is_not_decoded_again(
    music: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1))
    target = music / "drone_06.mp3"
    os.utime(target, (1_600_000_000, 1_600_000_000))
    decoded: list[object] = []
    report = ingest(
        factory,
        [music],
        IngestOptions(settings=settings, device=CPU, workers=1),
        on_file=lambda a: a and decoded.append(a),
    )
    assert (report.updated, report.skipped, decoded) == (0, 6, [])
    with factory() as session:
        assert track_at(session, target).mtime == 1_600_000_000


@pytest.mark.both_engines
def test_missing_root_is_refused_and_marks_nothing_deleted(
    music: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1))
    shutil.rmtree(music)
    with pytest.raises(NotFoundError, match="no such file or folder"):
        ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1))
    with factory() as session:
        assert set(session.scalars(select(Track.status))) == {"ok"}


def test_scan_sniffs_content_and_survives_loops_odd_names_and_locked_folders(library: Path, tmp_path: Path) -> None:
    root = tmp_path / "odd"
    root.mkdir()
    shutil.copy(library / "drone" / "drone_00.wav", root / "no_extension")
    shutil.copy(library / "drone" / "drone_02.flac", root / "flac.bin")
    shutil.copy(library / "drone" / "drone_04.ogg", root / "vorbis.dat")
    shutil.copy(library / "beat" / "beat_07.mp3", root / "tagged_mp3")
    (root / "readme").write_text("plain text\n")
    (root / "picture.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(64))
    weird = os.fsdecode(b"caf\xe9.wav")
    shutil.copy(library / "drone" / "drone_00.wav", root / weird)
    (root / "sub").mkdir()
    shutil.copy(library / "drone" / "drone_02.flac", root / "sub" / "deep.flac")
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    (root / "self").symlink_to(root / "self")
    locked = root / "locked"
    locked.mkdir()
    shutil.copy(library / "drone" / "drone_00.wav", locked / "hidden.wav")
    locked.chmod(0)
    errors: list[Path] = []
    try:
        found = list(scan([root], on_error=lambda p, _e: errors.append(p)))
    finally:
        locked.chmod(0o755)
    names = [p.relative_to(root).as_posix() for p in found]
    expected = {"no_extension", "flac.bin", "vorbis.dat", "tagged_mp3", weird, "sub/deep.flac"}
    if os.geteuid() == 0:  # root lists folders whatever their mode
        assert errors == [] and "locked/hidden.wav" in names
        expected.add("locked/hidden.wav")
    else:
        assert errors == [locked]
    assert set(names) == expected and len(names) == len(expected)


def test_scan_follows_symlinks_inside_its_roots_and_reports_those_leading_out(library: Path, tmp_path: Path) -> None:
    root, outside = tmp_path / "lib", tmp_path / "elsewhere"
    (root / "sub").mkdir(parents=True)
    (outside / "album").mkdir(parents=True)
    shutil.copy(library / "drone" / "drone_00.wav", root / "a.wav")
    shutil.copy(library / "drone" / "drone_04.ogg", root / "sub" / "c.ogg")
    shutil.copy(library / "drone" / "drone_02.flac", outside / "b.flac")
    shutil.copy(library / "drone" / "drone_00.wav", outside / "album" / "d.wav")
    (outside / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "inside.wav").symlink_to(root / "a.wav")
    (root / "sub" / "up.wav").symlink_to(Path("..") / "a.wav")
    (root / "out.flac").symlink_to(outside / "b.flac")
    (root / "out_album").symlink_to(outside / "album", target_is_directory=True)
    (root / "passwd.wav").symlink_to(outside / "passwd")
    alias = tmp_path / "alias"
    alias.symlink_to(root, target_is_directory=True)

    def names(paths: list[Path], folder: Path) -> set[str]:
        return {p.relative_to(folder).as_posix() for p in paths}

    left_out: list[tuple[Path, Path]] = []
    found = list(scan([root], on_outside=lambda link, target: left_out.append((link, target))))
    assert names(found, root) == {"a.wav", "inside.wav", "sub/c.ogg", "sub/up.wav"}
    assert left_out == [
        (root / "out.flac", outside / "b.flac"),
        (root / "out_album", outside / "album"),
        (root / "passwd.wav", outside / "passwd"),
    ]
    followed = names(list(scan([root], follow_symlinks=True)), root)
    assert followed == {"a.wav", "inside.wav", "sub/c.ogg", "sub/up.wav", "out.flac", "out_album/d.wav", "passwd.wav"}
    assert names(list(scan([alias])), alias) == {"a.wav", "inside.wav", "sub/c.ogg", "sub/up.wav"}
    assert names(list(scan([root, outside])), root.parent) >= {
        "lib/out.flac",
        "lib/out_album/d.wav",
        "elsewhere/b.flac",
    }


def test_ingest_skips_a_symlink_out_of_its_folders_with_the_reason_unless_told_to_follow(
    music: Path, tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    assert ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1)).added == 6
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/sh\n")
    shutil.copy(music / "drone_02.flac", outside / "elsewhere.flac")
    swapped = music / "drone_00.wav"
    swapped.unlink()
    swapped.symlink_to(secret)
    (music / "linked.flac").symlink_to(outside / "elsewhere.flac")
    report = ingest(factory, [music], IngestOptions(settings=settings, device=CPU, workers=1))
    assert sorted(report.not_followed, key=lambda f: f["path"]) == [
        {"path": str(swapped), "target": str(secret), "reason": OUTSIDE},
        {"path": str(music / "linked.flac"), "target": str(outside / "elsewhere.flac"), "reason": OUTSIDE},
    ]
    assert (report.added, report.deleted, report.failed) == (0, 1, 0)
    with factory() as session:
        assert track_at(session, swapped).status == "deleted"
        assert session.scalars(select(Track).where(Track.path == str(music / "linked.flac"))).first() is None
    table = CliRunner().invoke(
        app,
        ["--home", str(settings.home), "ingest", str(music), "--workers", "1"],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url, "COLUMNS": "300"},
    )
    assert table.exit_code == 0 and "Symlinks not followed" in table.stdout and str(secret) in table.stdout

    result = CliRunner().invoke(
        app,
        ["--home", str(settings.home), "ingest", str(music), "--follow-symlinks", "--workers", "1", "--json"],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    followed = json.loads(result.stdout)
    assert followed["not_followed"] == [] and (followed["added"], followed["failed"]) == (1, 1)
    with factory() as session:
        assert track_at(session, music / "linked.flac").status == "ok"
        assert track_at(session, swapped).status == "failed"


@pytest.mark.both_engines
def test_non_utf8_file_name_is_stored_under_a_path_that_finds_the_file(
    library: Path, tmp_path: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    folder = tmp_path / "names"
    folder.mkdir()
    weird = folder / os.fsdecode(b"\xe9t\xe9 \xff.wav")
    shutil.copy(library / "drone" / "drone_00.wav", weird)
    report = ingest(factory, [folder], IngestOptions(settings=settings, device=CPU, workers=1))
    assert (report.added, report.failed) == (1, 0)
    with factory() as session:
        track = session.scalars(select(Track)).one()
    track.path.encode("utf-8")
    assert from_db_path(track.path) == weird and from_db_path(track.path).exists()
    assert track.status == "ok" and track.duration and track.duration > 1
    again = ingest(factory, [folder], IngestOptions(settings=settings, device=CPU, workers=1))
    assert (again.skipped, again.added, again.deleted) == (1, 0, 0)


@pytest.mark.parametrize(
    ("head", "audio"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", True),
        (b"fLaC\x00\x00\x00\x22\x10\x00\x10\x00", True),
        (b"OggS\x00\x02\x00\x00\x00\x00\x00\x00", True),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00\x00\x00", True),
        (b"\xff\xfb\x90\x64\x00\x00\x00\x00\x00\x00\x00\x00", True),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00", True),
        (b"\x00\x00\x00\x20ftypisom\x00\x00", False),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", False),
        (b"RIFF\x24\x00\x00\x00AVI LIST", False),
        (b"plain text..", False),
    ],
)
def test_magic_bytes_decide_what_is_audio(head: bytes, audio: bool) -> None:
    assert is_audio_magic(head) is audio


@pytest.mark.slow
def test_ingest_json_reports_moves_deletions_and_duplicates(
    music: Path, settings: Settings, factory: sessionmaker[Session]
) -> None:
    def cli_ingest() -> dict[str, object]:
        result = CliRunner().invoke(
            app,
            ["--home", str(settings.home), "ingest", str(music), "--workers", "1", "--json"],
            env={"SOUNDALIKE_DATABASE_URL": settings.db_url},
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.stdout))

    assert cli_ingest()["added"] == 6
    (music / "drone_00.wav").rename(music / "renamed.wav")
    (music / "drone_02.flac").unlink()
    shutil.copy(music / "drone_04.ogg", music / "second.ogg")
    data = cli_ingest()
    assert (data["moved"], data["deleted"], data["duplicates"], data["added"]) == (1, 1, 1, 1)
    table = CliRunner().invoke(
        app,
        ["--home", str(settings.home), "ingest", str(music), "--workers", "1"],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url, "COLUMNS": "200"},
    )
    assert table.exit_code == 0 and "moved" in table.stdout and "duplicates" in table.stdout
