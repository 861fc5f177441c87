"""How a failed command ends: a one-line reason on stderr (JSON on stdout with ``--json``), exit status 2.

Expected failures (our errors, an unreadable database, a file system refusal, bad arguments) say what went
wrong; anything else is an internal error whose traceback goes to a log file, never to the terminal.
"""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from soundalike.ingest.atomic_files import atomic_write_text
from soundalike.ingest.db.session import driver_message
from soundalike.ingest.errors import SoundalikeError

EXIT_FAILURE = 2


def describe(exc: BaseException) -> tuple[str, str] | None:
    """(message, type) of an expected failure, or None when ``exc`` is unexpected."""
    if isinstance(exc, SoundalikeError):
        return str(exc), type(exc).__name__
    if isinstance(exc, SQLAlchemyError):
        return f"the database cannot be used: {driver_message(exc)}", "DatabaseError"
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}", type(exc).__name__
    return None


def write_crash_log(exc: BaseException, folder: Path | None) -> Path:
    """Write the traceback of an unexpected failure to a new log file; its path."""
    for candidate in (folder, Path(tempfile.gettempdir())):
        if candidate is None:
            continue
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            path = candidate / f"soundalike-crash-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.log"
            return atomic_write_text(path, "".join(traceback.format_exception(exc)))
        except OSError:
            continue
    raise exc


def fail(message: str, kind: str, *, as_json: bool) -> None:
    """Report a failure and exit with status 2."""
    if as_json:
        sys.stdout.write(json.dumps({"error": message, "type": kind}) + "\n")
    sys.stderr.write(f"error: {message}\n")
    sys.exit(EXIT_FAILURE)
