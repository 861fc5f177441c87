"""The ``soundalike`` command: parses arguments, calls the stages, prints a table or ``--json``."""

from __future__ import annotations

import json
import sys

# Importing a command module registers its commands on the app.
import soundalike.cli.demo
import soundalike.cli.evaluate
import soundalike.cli.genres
import soundalike.cli.index
import soundalike.cli.ingest
import soundalike.cli.playlist
import soundalike.cli.recommend
import soundalike.cli.schedule
import soundalike.cli.serve  # noqa: F401
import soundalike.cli.train  # noqa: F401
from soundalike.cli.app import app
from soundalike.cli.output import stderr
from soundalike.ingest.errors import SoundalikeError

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point: known errors become a message and exit status 2, not a traceback."""
    try:
        app()
    except SoundalikeError as exc:
        if "--json" in sys.argv:
            sys.stdout.write(json.dumps({"error": str(exc), "type": type(exc).__name__}) + "\n")
        stderr.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
