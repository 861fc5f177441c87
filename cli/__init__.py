"""The ``soundalike`` command: parses arguments, calls the stages, prints a table or ``--json``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

# Importing a command module registers its commands on the app.
import soundalike.cli.db
import soundalike.cli.demo
import soundalike.cli.evaluate
import soundalike.cli.genres
import soundalike.cli.history
import soundalike.cli.index
import soundalike.cli.ingest
import soundalike.cli.keys
import soundalike.cli.labels
import soundalike.cli.playlist
import soundalike.cli.recommend
import soundalike.cli.schedule
import soundalike.cli.serve  # noqa: F401
import soundalike.cli.train  # noqa: F401
from soundalike.cli.app import app
from soundalike.cli.failures import EXIT_FAILURE, describe, fail, write_crash_log
from soundalike.cli.output import State

__all__ = ["app", "main"]


def main() -> None:
    """Console entry point: every failure becomes a message and exit status 2, never a traceback."""
    as_json = "--json" in sys.argv[1:]
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        fail("aborted", "Abort", as_json=as_json)
    except KeyboardInterrupt:
        fail("interrupted", "KeyboardInterrupt", as_json=as_json)
    except typer.TyperException as exc:
        message = getattr(exc, "format_message", lambda: "")()
        if as_json and message:
            fail(message, type(exc).__name__, as_json=True)
        exc.show()  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", EXIT_FAILURE))
    except Exception as exc:
        known = describe(exc)
        if known is None:
            log = write_crash_log(exc, _log_folder())
            known = (f"internal error ({type(exc).__name__}: {exc}); the traceback is in {log}", "InternalError")
        fail(*known, as_json=as_json)
    sys.exit(code if isinstance(code, int) else 0)


def _log_folder() -> Path | None:
    try:
        return State.settings().home / "logs"
    except Exception:
        return None
