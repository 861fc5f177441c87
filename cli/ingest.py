"""The ``ingest`` command: decode, tag and analyse audio files into the catalogue."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from soundalike.cli.app import app
from soundalike.cli.output import JsonOption, State, emit, progress_bar, table
from soundalike.ingest.db.session import open_database

if TYPE_CHECKING:
    from soundalike.ingest.engine import AnalysisEngine
    from soundalike.ingest.pipeline import IngestReport
    from soundalike.ingest.settings import Settings


class EngineName(StrEnum):
    """Where an ingest analyses its files."""

    local = "local"
    ray = "ray"


@contextmanager
def analysis_engine(name: EngineName, workers: int, settings: Settings) -> Iterator[AnalysisEngine]:
    """The engine ``--engine`` names: Ray (``RAY_ADDRESS`` or a local Ray), or ``workers`` processes here, started
    at once so that they load the analysis code while this process loads torch and the network."""
    if name is EngineName.ray:
        from soundalike.ingest.ray_engine import RayEngine

        yield RayEngine()
        return
    from soundalike.ingest.engine import local_engine

    with local_engine(workers, settings) as engine:
        yield engine


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    workers: Annotated[int | None, typer.Option(min=1, help="Decoding processes (default: all cores).")] = None,
    engine: Annotated[
        EngineName, typer.Option(help="local: worker processes here; ray: Ray Data on $RAY_ADDRESS or a local Ray.")
    ] = EngineName.local,
    wait: Annotated[
        float | None, typer.Option(help="Seconds to wait for another ingest of this database to end.")
    ] = None,
    follow_symlinks: Annotated[
        bool, typer.Option("--follow-symlinks", help="Follow symlinks out of PATHS (SOUNDALIKE_FOLLOW_SYMLINKS).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Decode, tag and analyse audio files into the catalogue (incremental: moves, deletions, duplicates)."""
    settings = State.settings()
    if follow_symlinks:
        settings = settings.model_copy(update={"follow_symlinks": True})
    workers = workers or os.cpu_count() or 1
    with analysis_engine(engine, workers, settings) as chosen:
        from soundalike.embed.ingest_consumer import consumer_for
        from soundalike.ingest.device import resolve_device
        from soundalike.ingest.pipeline import IngestOptions
        from soundalike.ingest.pipeline import ingest as run_ingest

        device = resolve_device(settings.device)
        factory = open_database(settings.db_url)
        consumer = consumer_for(settings, device)
        with progress_bar("ingest", as_json) as (set_total, advance):
            report = run_ingest(
                factory,
                paths,
                IngestOptions(
                    settings=settings, device=device, workers=workers, wait=wait, consumer=consumer, engine=chosen
                ),
                on_total=set_total,
                on_file=lambda _a: advance(),
            )
    data = report.as_dict() | {"embedded": consumer.encoded if consumer else 0}
    emit(data, as_json, lambda: print_ingest_report(report))


def print_ingest_report(report: IngestReport) -> None:
    """The counts of one ingestion run, then its failures and unreadable folders."""
    columns = ("added", "updated", "skipped", "failed", "moved", "deleted", "duplicates", "revived", "seconds")
    counts = [getattr(report, c) for c in columns[:-1]]
    table("Ingest", columns, [[*counts, f"{report.seconds:.1f}"]])
    if report.failures:
        table("Failures", ("path", "reason"), [[f["path"], f["reason"]] for f in report.failures])
    if report.unreadable:
        table("Unreadable folders", ("path", "reason"), [[f["path"], f["reason"]] for f in report.unreadable])
    if report.not_followed:
        table("Symlinks not followed", ("path", "target"), [[f["path"], f["target"]] for f in report.not_followed])
