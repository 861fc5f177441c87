"""The ``soundalike`` command: parses arguments, calls the stages, prints a table or ``--json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

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
from soundalike.ingest.errors import SoundalikeError
from soundalike.ingest.settings import Settings, load_settings

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Music feature extraction and retrieval.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
labels_app = typer.Typer(no_args_is_help=True, help="Genre labels.")
history_app = typer.Typer(no_args_is_help=True, help="Listening history.")
genres_app = typer.Typer(no_args_is_help=True, help="Genre tags: list, train, predict.")
index_app = typer.Typer(no_args_is_help=True, help="The FAISS index.")
app.add_typer(db_app, name="db")
app.add_typer(labels_app, name="labels")
app.add_typer(history_app, name="history")
app.add_typer(genres_app, name="genres")
app.add_typer(index_app, name="index")

stderr = Console(stderr=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


class State:
    """Per-invocation settings, set by the global options."""

    home: Path | None = None

    @classmethod
    def settings(cls) -> Settings:
        """Settings for this invocation (``--home`` wins over ``SOUNDALIKE_HOME``)."""
        return load_settings(cls.home)


@app.callback()
def main_options(
    home: Annotated[Path | None, typer.Option("--home", help="Data folder (default $SOUNDALIKE_HOME).")] = None,
) -> None:
    """Soundalike: ingest audio, embed it, index it, recommend from it."""
    State.home = home


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


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a rich table on stdout."""
    out = Table(title=title)
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*("" if v is None else str(v) for v in row))
    Console().print(out)


def result_rows(results: Sequence[dict[str, Any]]) -> list[list[object]]:
    """Rows of a ranked-results table."""
    return [
        [n, r["track_id"], f"{r['score']:.3f}", r.get("title") or Path(r["path"]).name, r.get("artist"), r.get("album")]
        for n, r in enumerate(results, 1)
    ]


RESULT_COLUMNS = ("#", "track", "score", "title", "artist", "album")


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


@genres_app.command("list")
def genres_list(
    source: Annotated[str | None, typer.Option(help="Only this source: tag, label, curator, predicted.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the genres attached to tracks."""
    from soundalike.embed.genres import list_track_genres

    with database() as session:
        rows = list_track_genres(session, source=source)
    emit(
        {"tracks": rows},
        as_json,
        lambda: table(
            "Genres",
            ("track", "genre", "source", "confidence", "path"),
            [
                [
                    r["track_id"],
                    r["genre"],
                    r["source"],
                    "" if r["confidence"] is None else f"{r['confidence']:.2f}",
                    Path(r["path"]).name,
                ]
                for r in rows
            ],
        ),
    )


@genres_app.command("train")
def genres_train(as_json: JsonOption = False) -> None:
    """Train the genre head on tracks with label, curator or tag genres."""
    from soundalike.embed.genre_head import train_genre_head
    from soundalike.embed.models import embedding_model

    settings = State.settings()
    with database() as session:
        meta = train_genre_head(session, settings.models_dir, model_name=embedding_model(settings).name)
    data = asdict(meta)
    emit(
        data,
        as_json,
        lambda: table(
            "Genre model",
            ("version", "classes", "train", "held-out", "accuracy", "macro F1", "temperature"),
            [
                [
                    meta.version,
                    ", ".join(meta.classes),
                    meta.n_train,
                    meta.n_test,
                    _fmt(meta.accuracy),
                    _fmt(meta.macro_f1),
                    f"{meta.temperature:.2f}",
                ]
            ],
        ),
    )


@genres_app.command("predict")
def genres_predict(as_json: JsonOption = False) -> None:
    """Tag tracks that have no trusted genre with the trained head (source ``predicted``)."""
    from soundalike.embed.genre_head import predict_genres

    settings = State.settings()
    with database() as session:
        count = predict_genres(session, settings.models_dir)
    emit({"predicted": count}, as_json, lambda: stderr.print(f"predicted genres for {count} tracks"))


def _fmt(value: object) -> str:
    return "n/a" if value is None else f"{float(str(value)):.3f}"


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


@app.command()
def demo(
    music: Annotated[Path | None, typer.Option(help="Use this folder instead of the Debian demo music.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Build the demo catalogue and run the whole job on it: ingest, index, tag, recommend."""
    from soundalike.demo import run_demo

    settings = State.settings()
    summary = run_demo(settings, music=music, on_step=lambda step: stderr.print(f"[bold]>[/bold] {step}"))

    def render() -> None:
        ing = summary.ingest
        table(
            "Ingest",
            ("added", "updated", "skipped", "failed", "seconds"),
            [[ing["added"], ing["updated"], ing["skipped"], ing["failed"], ing["seconds"]]],
        )
        gm = summary.genre_model
        table(
            "Genre model (held-out albums)",
            ("classes", "train", "held-out", "accuracy"),
            [[", ".join(map(str, gm["classes"])), gm["n_train"], gm["n_test"], _fmt(gm["accuracy"])]],
        )
        if summary.corpus_accuracy:
            acc = summary.corpus_accuracy
            table(
                "Genre tagging of held-out synthesised pieces",
                ("pieces", "accuracy"),
                [[acc["held_out_pieces"], _fmt(acc["accuracy"])]],
            )
        table(
            "Predicted genres (first 10)",
            ("track", "genre", "confidence", "file"),
            [
                [r["track_id"], r["genre"], _fmt(r["confidence"]), Path(str(r["path"])).name]
                for r in summary.predicted[:10]
            ],
        )
        sim = summary.similar
        table(f"Similar to {Path(str(sim['path'])).name}", RESULT_COLUMNS, result_rows(sim["results"]))
        for user, playlist in summary.playlists.items():
            table(f"Playlist for {user}", RESULT_COLUMNS, result_rows(playlist))

    emit(asdict(summary), as_json, render)


def main() -> None:
    """Console entry point: known errors become a message and exit status 2, not a traceback."""
    try:
        app()
    except SoundalikeError as exc:
        if "--json" in sys.argv:
            sys.stdout.write(json.dumps({"error": str(exc), "type": type(exc).__name__}) + "\n")
        stderr.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
