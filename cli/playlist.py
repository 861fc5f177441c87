"""``soundalike playlist``: sonic paths between tracks."""

from __future__ import annotations

from typing import Annotated

import typer

from soundalike.cli.app import app
from soundalike.cli.output import JsonOption, M3uOption, open_service, show_results
from soundalike.ingest.db.models import MAX_ID
from soundalike.ingest.db.session import session_scope
from soundalike.recommend.defaults import DEFAULTS

playlist_app = typer.Typer(no_args_is_help=True, help="Playlists: sonic paths between tracks.")
app.add_typer(playlist_app, name="playlist")


@playlist_app.command("path")
def playlist_path(
    start: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="First track id.")],
    end: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="Last track id.")],
    steps: Annotated[
        int, typer.Option("--steps", min=2, max=DEFAULTS.max_path_steps, help="Tracks in the path, ends included.")
    ] = DEFAULTS.path_steps,
    m3u: M3uOption = None,
    as_json: JsonOption = False,
) -> None:
    """A smooth sonic path from START to END, no track twice."""
    from soundalike.recommend.path import sonic_path

    service = open_service()
    with session_scope(service.factory) as session:
        results = sonic_path(session, service.index, start, end, steps)
    show_results(f"Path {start} -> {end}", {"start": start, "end": end}, results, as_json, m3u)
