"""What every command shares: settings state, the database session, progress bars, tables and ``--json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.orm import Session

from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.settings import Settings, load_settings

if TYPE_CHECKING:
    from soundalike.ingest.rows import RowReport
    from soundalike.recommend.results import Result
    from soundalike.recommend.service import Service

stderr = Console(stderr=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
RESULT_COLUMNS = ("#", "track", "score", "title", "artist", "album")
M3uOption = Annotated[Path | None, typer.Option("--m3u", help="Also write the tracks as an M3U playlist file.")]


class State:
    """Per-invocation settings, set by the global options."""

    home: Path | None = None

    @classmethod
    def settings(cls) -> Settings:
        """Settings for this invocation (``--home`` wins over ``SOUNDALIKE_HOME``)."""
        return load_settings(cls.home)


def open_service() -> Service:
    """The recommendation service on this invocation's settings, on the device they resolve to."""
    from soundalike.ingest.device import resolve_device
    from soundalike.recommend.service import Service

    settings = State.settings()
    return Service.open(settings, device=resolve_device(settings.device))


@contextmanager
def database() -> Iterator[Session]:
    """A session on the configured database, migrated on first use, committed at the end."""
    with session_scope(open_database(State.settings().db_url)) as session:
        yield session


@contextmanager
def progress_bar(label: str, transient: bool) -> Iterator[tuple[Callable[[int], None], Callable[[], None]]]:
    """A progress bar on stderr with count, rate and ETA; yields (set_total, advance)."""
    columns = (
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(show_speed=True),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=transient) as progress:
        task = progress.add_task(label, total=None)
        yield (lambda n: progress.update(task, total=n)), (lambda: progress.advance(task))


def emit(data: dict[str, Any], as_json: bool, render: Callable[[], None]) -> None:
    """Print ``data`` as JSON, or call ``render`` to print it for people."""
    if as_json:
        sys.stdout.write(json.dumps(data, default=str) + "\n")
    else:
        render()


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]], *, empty: str | None = None) -> None:
    """Print a rich table on stdout; without rows, ``empty`` beneath it says how to get some."""
    out = Table(title=title)
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*("" if v is None else str(v) for v in row))
    console = Console()
    console.print(out)
    if not rows and empty:
        console.print(empty, markup=False, highlight=False)


def print_import(title: str, report: RowReport) -> None:
    """The counts of an import of user rows, then the rows refused and why."""
    table(title, ("imported", "duplicates", "bad rows"), [[report.imported, report.duplicates, len(report.errors)]])
    if report.errors:
        table("Bad rows", ("line", "reason"), [[e["line"], e["reason"]] for e in report.errors])


def result_rows(results: Sequence[dict[str, Any]]) -> list[list[object]]:
    """Rows of a ranked-results table."""
    return [
        [n, r["track_id"], f"{r['score']:.3f}", r.get("title") or Path(r["path"]).name, r.get("artist"), r.get("album")]
        for n, r in enumerate(results, 1)
    ]


def show_results(
    title: str, data: dict[str, object], results: list[Result], as_json: bool, m3u: Path | None, *, key: str = "results"
) -> None:
    """Print ranked results with their reasons (or ``data`` plus the results under ``key`` as JSON); also write
    ``m3u`` if given."""
    from soundalike.recommend.m3u import write_m3u

    if m3u is not None:
        data["m3u"] = str(write_m3u(results, m3u))
    rows = [r.as_dict() for r in results]
    data[key] = rows
    emit(data, as_json, lambda: table(title, (*RESULT_COLUMNS, "why"), _with_why(rows)))


def _with_why(rows: list[dict[str, object]]) -> list[list[object]]:
    table_rows = result_rows(rows)
    for row, result in zip(table_rows, rows, strict=True):
        why = result.get("why")
        row.append(why.get("text") if isinstance(why, dict) else "")
    return table_rows


def fmt(value: object) -> str:
    """A number with three decimals, or ``n/a``."""
    return "n/a" if value is None else f"{float(str(value)):.3f}"
