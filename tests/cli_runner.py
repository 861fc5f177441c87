"""Running the ``soundalike`` command in-process for tests, with ``--json``."""

from __future__ import annotations

import json
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
