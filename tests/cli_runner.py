"""Running the ``soundalike`` command in-process for tests, with ``--json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from soundalike.cli import app, main
from soundalike.ingest.settings import Settings


def run_cli(settings: Settings, *args: str) -> dict[str, Any]:
    """The JSON document a successful ``soundalike --home HOME ARGS --json`` prints under ``settings``."""
    result = CliRunner().invoke(
        app,
        ["--home", str(settings.home), *args, "--json"],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url, "SOUNDALIKE_EMBEDDING_MODEL": settings.embedding_model},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict, str]:
    """Exit status, the JSON document on stdout and stderr of ``soundalike ARGV --json`` through the console
    entry point, as a shell runs it."""
    monkeypatch.setattr("sys.argv", ["soundalike", *argv, "--json"])
    with pytest.raises(SystemExit) as exited:
        main()
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), json.loads(out.strip().splitlines()[-1]), err


def label_tagged_files(settings: Settings, folder: Path) -> int:
    """Label the test library's tagged files (all but the wav ones) with their style, as a curator would;
    returns how many were imported."""
    files = sorted(p for p in folder.glob("*/*_*.*") if p.suffix != ".wav" and p.suffix != ".csv")
    csv = folder / "labels.csv"
    csv.write_text("path,genre\n" + "".join(f"{p.relative_to(folder)},{p.parent.name}\n" for p in files))
    return int(run_cli(settings, "labels", "import", str(csv))["imported"])
