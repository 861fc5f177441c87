"""Running the ``soundalike`` command in-process for tests, with ``--json`` or as people read it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from typer.testing import CliRunner

from soundalike.cli import app, main
from soundalike.cli.failures import EXIT_FAILURE
from soundalike.ingest.settings import Settings


def cli_env(settings: Settings) -> dict[str, str | None]:
    """The environment that points the command at ``settings``' database and embedding model."""
    return {"SOUNDALIKE_DATABASE_URL": settings.db_url, "SOUNDALIKE_EMBEDDING_MODEL": settings.embedding_model}


def run_cli(settings: Settings, *args: str) -> dict[str, Any]:
    """The JSON document a successful ``soundalike --home HOME ARGS --json`` prints under ``settings``."""
    result = CliRunner().invoke(
        app,
        ["--home", str(settings.home), *args, "--json"],
        env=cli_env(settings),
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_for_people(settings: Settings, *args: str) -> str:
    """What a successful ``soundalike --home HOME ARGS`` prints on stdout under ``settings``, without ``--json``, in a
    terminal wide enough that no line wraps."""
    env = {**cli_env(settings), "COLUMNS": "400"}
    result = CliRunner().invoke(app, ["--home", str(settings.home), *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict, str]:
    """Exit status, the JSON document on stdout and stderr of ``soundalike ARGV --json`` through the console
    entry point, as a shell runs it."""
    monkeypatch.setattr("sys.argv", ["soundalike", *argv, "--json"])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), json.loads(out.strip().splitlines()[-1]), err


def console(settings: Settings, *args: str, stdin: str | None = None) -> tuple[int, dict[str, Any], str]:
    """Exit status, JSON document and all output of ``soundalike --home HOME ARGS --json`` run through the console
    entry point as a shell runs it, with ``stdin`` as its input."""
    argv = ["soundalike", "--home", str(settings.home), *args, "--json"]
    with (
        CliRunner().isolation(input=stdin, env=cli_env(settings)) as (stdout, stderr, _),
        mock.patch.object(sys, "argv", argv),
        pytest.raises(SystemExit) as exited,
    ):
        try:
            main()
        finally:
            sys.stdout.flush()
            printed = stdout.getvalue().decode()
            errors = stderr.getvalue().decode() if stderr is not None else ""
    lines = printed.strip().splitlines()
    return int(exited.value.code or 0), json.loads(lines[-1]) if lines else {}, printed + errors


def cli_failure(settings: Settings, *args: str) -> dict[str, Any]:
    """The JSON error (``error``, ``type``) ``soundalike --home HOME ARGS --json`` prints as it exits with status 2,
    run through the console entry point as a user would."""
    code, error, printed = console(settings, *args)
    assert code == EXIT_FAILURE, printed
    return error


def label_tagged_files(settings: Settings, folder: Path) -> int:
    """Label the test library's tagged files (all but the wav ones) with their style, as a curator would;
    returns how many were imported."""
    files = sorted(p for p in folder.glob("*/*_*.*") if p.suffix != ".wav" and p.suffix != ".csv")
    csv = folder / "labels.csv"
    csv.write_text("path,genre\n" + "".join(f"{p.relative_to(folder)},{p.parent.name}\n" for p in files))
    return int(run_cli(settings, "labels", "import", str(csv))["imported"])
