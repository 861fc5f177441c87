"""The ``labels`` commands: genre labels a curator supplies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from soundalike.cli.app import labels_app
from soundalike.cli.output import JsonOption, database, emit, print_import


@labels_app.command("import")
def labels_import(
    csv_file: Annotated[Path, typer.Argument(help="CSV with columns path,genre.")], as_json: JsonOption = False
) -> None:
    """Import genre labels (source ``label``)."""
    from soundalike.ingest.labels import import_labels

    with database() as session:
        report = import_labels(session, csv_file)
    emit(report.as_dict(), as_json, lambda: print_import("Labels", report))
