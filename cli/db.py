"""The ``db`` commands: the database schema."""

from __future__ import annotations

from soundalike.cli.app import db_app
from soundalike.cli.output import JsonOption, State, emit, stderr
from soundalike.ingest.db.session import open_database


@db_app.command("upgrade")
def db_upgrade(as_json: JsonOption = False) -> None:
    """Apply pending migrations to the configured database."""
    settings = State.settings()
    open_database(settings.db_url)
    url = settings.db_url.split("@")[-1]
    emit({"upgraded": True, "database": url}, as_json, lambda: stderr.print(f"database at {url} is up to date"))
