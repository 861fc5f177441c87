"""The ``history`` commands: import listening events, erase a listener."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from soundalike.cli.app import history_app
from soundalike.cli.output import JsonOption, database, emit, print_import, table


@history_app.command("import")
def history_import(
    file: Annotated[Path, typer.Argument(help="CSV or JSON lines of listening events.")], as_json: JsonOption = False
) -> None:
    """Import listening events (user, track, played_at, ms_played, skipped)."""
    from soundalike.ingest.history import import_history

    with database() as session:
        report = import_history(session, file)
    emit(report.as_dict(), as_json, lambda: print_import("History", report))


@history_app.command("delete")
def history_delete(
    user: Annotated[str, typer.Argument(help="The listener to erase.")], as_json: JsonOption = False
) -> None:
    """Erase a listener: the user and every listening event of theirs."""
    from soundalike.ingest.listening import erase_user

    with database() as session:
        deleted = erase_user(session, user)
    emit(
        {"user": user, "deleted": deleted},
        as_json,
        lambda: table("Erased", ("user", "events deleted"), [[user, deleted]]),
    )
