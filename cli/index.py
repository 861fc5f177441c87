"""Index commands: build (incremental), status, verify."""

from __future__ import annotations

from typing import Annotated

import typer

from soundalike.cli.app import index_app
from soundalike.cli.output import JsonOption, State, database, emit, progress_bar, table

RebuildOption = Annotated[bool, typer.Option("--rebuild", help="Rebuild from scratch instead of updating.")]


@index_app.command("build")
def index_build(rebuild: RebuildOption = False, as_json: JsonOption = False) -> None:
    """Embed the analysed tracks, then add what the index lacks (or rebuild it) and save atomically."""
    from soundalike.embed.models import embedding_model
    from soundalike.index.backends import resolve_index_backend
    from soundalike.index.sync import sync_index
    from soundalike.ingest.device import resolve_device

    settings = State.settings()
    device = resolve_device(settings.device)
    model = embedding_model(settings, device)
    with database() as session:
        with progress_bar("embed", as_json) as (_, advance):
            model.refresh(session, on_track=advance)
        session.flush()
        report = sync_index(session, settings, model.name, backend=resolve_index_backend(device), rebuild=rebuild)
    meta = report.meta
    data = {
        "action": report.action,
        "reason": report.reason,
        "added": report.added,
        "stale": report.stale,
        "factory": meta.factory,
        "metric": meta.metric,
        "dim": meta.dim,
        "count": meta.count,
        "params": meta.params,
        "tuned_recall": meta.tuned_recall,
        "model_name": meta.model_name,
        "model_version": meta.model_version,
    }
    emit(data, as_json, lambda: table("Index", ["field", "value"], [[k, v] for k, v in data.items()]))


@index_app.command("status")
def index_status(as_json: JsonOption = False) -> None:
    """Sidecar, count, stale count and whether the index matches the database."""
    from soundalike.index.verify import index_status as read_status

    settings = State.settings()
    with database() as session:
        status = read_status(session, settings.index_dir, settings.embedding_model)
    data = {
        "count": status.count,
        "stale": status.stale,
        "stale_since_save": status.stale_since_save,
        "missing": status.missing,
        "fingerprint": status.fingerprint,
        "database_fingerprint": status.database_fingerprint,
        "fingerprint_match": status.fingerprint_match,
        "intact": status.intact,
        "problem": status.problem,
        "sidecar": status.sidecar,
    }
    rows = [[k, v] for k, v in data.items() if k != "sidecar"] + [
        [f"sidecar.{k}", v] for k, v in status.sidecar.items()
    ]
    emit(data, as_json, lambda: table("Index status", ["field", "value"], rows))


@index_app.command("verify")
def index_verify(as_json: JsonOption = False) -> None:
    """Check every embedding is indexed, no stale id is searchable and vectors match; exit 1 if not."""
    from soundalike.index.track_index import load_index
    from soundalike.index.verify import verify_index

    settings = State.settings()
    with database() as session:
        report = verify_index(session, load_index(settings.index_dir, settings.embedding_model))
    data = report.as_dict()
    emit(data, as_json, lambda: table("Index verify", ["check", "result"], [[k, v] for k, v in data.items()]))
    if not report.ok:
        raise typer.Exit(1)
