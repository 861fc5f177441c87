"""Commands that fill the catalogue: schema, ingest, labels, history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from soundalike.cli.app import app, db_app, history_app, labels_app
from soundalike.cli.output import JsonOption, State, database, emit, progress_bar, stderr, table
from soundalike.ingest.db.session import open_database


@db_app.command("upgrade")
def db_upgrade(as_json: JsonOption = False) -> None:
    """Apply pending migrations to the configured database."""
    settings = State.settings()
    open_database(settings.db_url)
    url = settings.db_url.split("@")[-1]
    emit({"upgraded": True, "database": url}, as_json, lambda: stderr.print(f"database at {url} is up to date"))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    workers: Annotated[int | None, typer.Option(help="Decoding processes (default: all cores).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Decode, tag and analyse audio files into the catalogue."""
    from soundalike.ingest.pipeline import ingest as run_ingest

    settings = State.settings()
    factory = open_database(settings.db_url)
    with progress_bar("ingest", as_json) as (set_total, advance):
        report = run_ingest(
            factory, paths, settings=settings, workers=workers, on_total=set_total, on_file=lambda _a: advance()
        )
    data = report.as_dict()

    def render() -> None:
        table(
            "Ingest",
            ("added", "updated", "skipped", "failed", "seconds"),
            [[report.added, report.updated, report.skipped, report.failed, f"{report.seconds:.1f}"]],
        )
        if report.failures:
            table("Failures", ("path", "reason"), [[f["path"], f["reason"]] for f in report.failures])

    emit(data, as_json, render)


@labels_app.command("import")
def labels_import(
    csv_file: Annotated[Path, typer.Argument(help="CSV with columns path,genre.")], as_json: JsonOption = False
) -> None:
    """Import genre labels (source ``label``)."""
    from soundalike.ingest.labels import import_labels

    with database() as session:
        report = import_labels(session, csv_file)
    emit(report.as_dict(), as_json, lambda: _print_import("Labels", report.imported, 0, report.errors))


@history_app.command("import")
def history_import(
    file: Annotated[Path, typer.Argument(help="CSV or JSON lines of listening events.")], as_json: JsonOption = False
) -> None:
    """Import listening events (user, track, played_at, ms_played, skipped)."""
    from soundalike.ingest.history import import_history

    with database() as session:
        report = import_history(session, file)
    emit(report.as_dict(), as_json, lambda: _print_import("History", report.imported, report.duplicates, report.errors))


def _print_import(title: str, imported: int, duplicates: int, errors: list[dict[str, object]]) -> None:
    table(title, ("imported", "duplicates", "bad rows"), [[imported, duplicates, len(errors)]])
    if errors:
        table("Bad rows", ("line", "reason"), [[e["line"], e["reason"]] for e in errors])
