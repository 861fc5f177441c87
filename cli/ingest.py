"""The ``ingest`` command: decode, tag and analyse audio files into the catalogue."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from soundalike.cli.app import app
from soundalike.cli.output import JsonOption, State, emit, progress_bar, table
from soundalike.ingest.db.session import open_database

if TYPE_CHECKING:
    import torch

    from soundalike.embed.ingest_consumer import MusicnnIngestConsumer
    from soundalike.ingest.engine import AnalysisEngine
    from soundalike.ingest.pipeline import IngestReport


class EngineName(StrEnum):
    """Where an ingest analyses its files."""

    local = "local"
    ray = "ray"


def analysis_engine(name: EngineName) -> AnalysisEngine | None:
    """The engine ``--engine`` names: Ray (``RAY_ADDRESS`` or a local Ray), or None for the worker processes here."""
    if name is EngineName.ray:
        from soundalike.ingest.ray_engine import RayEngine

        return RayEngine()
    return None


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
    from soundalike.ingest.pipeline import IngestOptions
    from soundalike.ingest.pipeline import ingest as run_ingest

    settings = State.settings()
    if follow_symlinks:
        settings = settings.model_copy(update={"follow_symlinks": True})
    consumers: list[MusicnnIngestConsumer | None] = []

    def prepare() -> tuple[torch.device, MusicnnIngestConsumer | None]:
        """The device and the consumer (torch and the network), loaded only when there are files to analyse."""
        from soundalike.embed.ingest_consumer import consumer_for
        from soundalike.ingest.device import resolve_device

        device = resolve_device(settings.device)
        consumers.append(consumer_for(settings, device))
        return device, consumers[-1]

    factory = open_database(settings.db_url)
    with progress_bar("ingest", as_json) as (set_total, advance):
        report = run_ingest(
            factory,
            paths,
            IngestOptions(
                settings=settings,
                device=None,
                workers=workers,
                wait=wait,
                engine=analysis_engine(engine),
                prepare=prepare,
            ),
            on_total=set_total,
            on_file=lambda _a: advance(),
        )
    embedded = sum(consumer.encoded for consumer in consumers if consumer is not None)
    data = report.as_dict() | {"embedded": embedded}
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
