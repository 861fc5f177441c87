"""Running the ``soundalike`` command in-process for tests, with ``--json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from soundalike.cli import app
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


def label_tagged_files(settings: Settings, folder: Path) -> int:
    """Label the test library's tagged files (all but the wav ones) with their style, as a curator would;
    returns how many were imported."""
    files = sorted(p for p in folder.glob("*/*_*.*") if p.suffix != ".wav" and p.suffix != ".csv")
    csv = folder / "labels.csv"
    csv.write_text("path,genre\n" + "".join(f"{p.relative_to(folder)},{p.parent.name}\n" for p in files))
    return int(run_cli(settings, "labels", "import", str(csv))["imported"])
