"""Retrieval commands: similar tracks and playlists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from soundalike.cli.app import app
from soundalike.cli.output import RESULT_COLUMNS, JsonOption, State, emit, result_rows, table
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.errors import SoundalikeError


@app.command()
def similar(
    track_id: Annotated[int | None, typer.Argument(help="Catalogue track id.")] = None,
    path: Annotated[Path | None, typer.Option("--path", help="An audio file instead of a track id.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=1000, help="How many results.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Tracks that sound like a catalogue track or an audio file."""
    from soundalike.recommend.service import Service
    from soundalike.recommend.similar import similar_to_track, similar_to_vector

    if (track_id is None) == (path is None):
        raise SoundalikeError("give either TRACK_ID or --path FILE")
    service = Service.open(State.settings())
    with session_scope(service.factory) as session:
        if path is not None:
            results = similar_to_vector(session, service.index, service.model.embed_file(path), k)
        else:
            results = similar_to_track(session, service.index, int(track_id or 0), k)
    data = {"results": [r.as_dict() for r in results]}
    emit(data, as_json, lambda: table("Similar tracks", RESULT_COLUMNS, result_rows(data["results"])))


@app.command()
def recommend(
    user: Annotated[str, typer.Argument(help="User name as in the imported history.")],
    n: Annotated[int, typer.Option("-n", min=1, max=1000, help="Playlist length.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """A playlist of unheard tracks ranked by similarity to the user's history."""
    from soundalike.recommend.playlist import recommend_for_user
    from soundalike.recommend.service import Service

    service = Service.open(State.settings())
    with session_scope(service.factory) as session:
        results = recommend_for_user(session, service.index, user, n)
    rows = [r.as_dict() for r in results]
    emit(
        {"user": user, "results": rows},
        as_json,
        lambda: table(f"Playlist for {user}", RESULT_COLUMNS, result_rows(rows)),
    )
