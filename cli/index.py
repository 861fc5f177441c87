"""Index commands: build."""

from __future__ import annotations

from soundalike.cli.app import index_app
from soundalike.cli.output import JsonOption, State, database, emit, progress_bar, table


@index_app.command("build")
def index_build(as_json: JsonOption = False) -> None:
    """Embed the analysed tracks and build the FAISS index."""
    from soundalike.embed.models import embedding_model
    from soundalike.index.build import build_from_database

    settings = State.settings()
    with database() as session, progress_bar("embed", as_json) as (_, advance):
        meta = build_from_database(session, settings, embedding_model(settings), on_track=advance)
    data = {
        "factory": meta.factory,
        "metric": meta.metric,
        "dim": meta.dim,
        "count": meta.count,
        "model_name": meta.model_name,
        "model_version": meta.model_version,
    }
    emit(data, as_json, lambda: table("Index", list(data), [list(data.values())]))
