"""The Typer application and its command groups; command modules register onto these."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from soundalike.cli.output import State

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Music feature extraction and retrieval.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
labels_app = typer.Typer(no_args_is_help=True, help="Genre labels.")
history_app = typer.Typer(no_args_is_help=True, help="Listening history.")
genres_app = typer.Typer(no_args_is_help=True, help="Genre tags: list, train, predict, review.")
index_app = typer.Typer(no_args_is_help=True, help="The FAISS index.")
keys_app = typer.Typer(no_args_is_help=True, help="API keys for the HTTP API: create, list, revoke.")
moods_app = typer.Typer(no_args_is_help=True, help="Moods from tag probabilities: list, show, review.")
mixes_app = typer.Typer(help="Mixes cut from the whole catalogue: list, refresh, export.")
app.add_typer(db_app, name="db")
app.add_typer(labels_app, name="labels")
app.add_typer(history_app, name="history")
app.add_typer(genres_app, name="genres")
app.add_typer(index_app, name="index")
app.add_typer(keys_app, name="keys")
server_app = typer.Typer(no_args_is_help=True, help="Subsonic media servers to sync with: add, list, remove, test.")
app.add_typer(server_app, name="server")
app.add_typer(moods_app, name="moods")
app.add_typer(mixes_app, name="mixes")


@app.callback()
def main_options(
    home: Annotated[Path | None, typer.Option("--home", help="Data folder (default $SOUNDALIKE_HOME).")] = None,
) -> None:
    """Soundalike: ingest audio, embed it, index it, recommend from it."""
    State.home = home
