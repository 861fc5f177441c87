"""Every CLI failure ends with exit status 2 and one JSON error with ``--json``, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import soundalike.cli.index
from soundalike.cli import main
from soundalike.embed.store import put_embeddings
from soundalike.index.backends import CpuBackend
from soundalike.index.sync import sync_index
from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.settings import Settings

from support.cli_runner import run_main


@pytest.mark.parametrize(
    ("argv", "kind", "words"),
    [
        (("similar", "abc"), "BadParameter", "valid integer"),
        (("index", "status", "--bogus"), "NoSuchOption", "--bogus"),
        (("ingest", "x", "--workers", "-1"), "BadParameter", "--workers"),
        (("similar", "99999999999999999999"), "BadParameter", "track_id"),
        (("playlist", "path", "0", "5"), "BadParameter", "start"),
        (("train", "distil", "x", "--held-out", "y", "--track-patches", "0"), "BadParameter", "--track-patches"),
    ],
)
def test_bad_arguments_are_a_json_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], kind: str, words: str
) -> None:
    code, error, err = run_main(monkeypatch, capsys, *argv)
    assert code == 2 and error["type"] == kind and words in error["error"]
    assert "Traceback" not in err


def test_a_home_that_is_a_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "file"
    home.write_text("x")
    code, error, _ = run_main(monkeypatch, capsys, "--home", str(home), "index", "status")
    assert code == 2 and error["type"] == "ConfigError" and "is a file, not a folder" in error["error"]


def test_a_corrupt_sqlite_file_is_a_database_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "soundalike.db").write_bytes(b"definitely not SQLite" * 100)
    monkeypatch.delenv("SOUNDALIKE_DATABASE_URL", raising=False)
    code, error, err = run_main(monkeypatch, capsys, "--home", str(tmp_path), "keys", "list")
    assert code == 2 and error == {
        "error": "the database cannot be used: file is not a database",
        "type": "DatabaseError",
    }
    assert "Traceback" not in err


def test_an_unexpected_exception_is_an_internal_error_with_its_traceback_in_a_log_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(soundalike.cli.index, "database", broken)
    code, error, err = run_main(monkeypatch, capsys, "--home", str(tmp_path), "index", "status")
    assert code == 2 and error["type"] == "InternalError" and "ZeroDivisionError: a bug" in error["error"]
    log = Path(error["error"].rsplit("the traceback is in ", 1)[1])
    assert log.parent == tmp_path / "logs" and "Traceback" in log.read_text() and "Traceback" not in err


def test_index_verify_on_a_truncated_index_is_a_json_error_and_status_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(home=tmp_path, embedding_model="mfcc-stats")
    with session_scope(open_database(settings.db_url)) as session:
        tracks = [Track(path=f"/music/{n}.wav", size=1, mtime=0.0, status="ok") for n in range(20)]
        session.add_all(tracks)
        session.flush()
        vectors = np.random.default_rng(0).standard_normal((20, 8)).astype(np.float32)
        put_embeddings(session, "mfcc-stats", "v1", np.array([t.id for t in tracks]), vectors)
        session.flush()
        sync_index(session, settings, "mfcc-stats", backend=CpuBackend())
    faiss_file = next(settings.index_dir.glob("*.faiss"))
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    monkeypatch.setenv("SOUNDALIKE_EMBEDDING_MODEL", "mfcc-stats")
    monkeypatch.delenv("SOUNDALIKE_DATABASE_URL", raising=False)
    code, error, err = run_main(monkeypatch, capsys, "--home", str(tmp_path), "index", "verify")
    assert code == 2 and error["type"] == "IndexCorruptError" and "Traceback" not in err
    monkeypatch.setattr("sys.argv", ["soundalike", "--home", str(tmp_path), "index", "status", "--json"])
    with pytest.raises(SystemExit) as exited:
        main()
    status = json.loads(capsys.readouterr().out)
    assert exited.value.code == 0 and status["intact"] is False and "corrupt" in status["problem"]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (("--tempo-min", "nan"), "tempo_min must be a finite number"),
        (("--tempo-min", "-5"), "tempo_min must be a finite number"),
        (("--tempo-min", "150", "--tempo-max", "90"), "tempo range is empty"),
    ],
)
def test_nonsense_filters_are_input_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    options: tuple[str, ...],
    words: str,
) -> None:
    code, error, _ = run_main(monkeypatch, capsys, "--home", str(tmp_path), "similar", "1", *options)
    assert code == 2 and error["type"] == "InputError" and words in error["error"]


def test_similar_to_a_missing_file_is_a_json_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, error, err = run_main(monkeypatch, capsys, "--home", str(tmp_path), "similar", "--path", "/no/such.mp3")
    assert code == 2 and "/no/such.mp3" in error["error"] and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "words"), [(("keys", "create", "bad name"), "key name"), (("keys", "revoke", "nobody"), "no live key")]
)
def test_bad_key_commands_are_json_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    words: str,
) -> None:
    monkeypatch.delenv("SOUNDALIKE_DATABASE_URL", raising=False)
    code, error, err = run_main(monkeypatch, capsys, "--home", str(tmp_path), *argv)
    assert code == 2 and words in error["error"] and "Traceback" not in err


def test_training_on_an_empty_catalogue_is_a_precondition_error_naming_the_missing_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SOUNDALIKE_DATABASE_URL", raising=False)
    monkeypatch.setenv("SOUNDALIKE_EMBEDDING_MODEL", "mfcc-stats")
    code, error, err = run_main(monkeypatch, capsys, "--home", str(tmp_path), "genres", "train")
    assert code == 2 and error["type"] == "PreconditionError" and "soundalike ingest" in error["error"]
    assert "Traceback" not in err
