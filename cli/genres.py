"""Genre commands: list, train, predict, review."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from soundalike.cli.app import genres_app
from soundalike.cli.output import JsonOption, State, database, emit, fmt, progress_bar, stderr, table


@genres_app.command("list")
def genres_list(
    source: Annotated[str | None, typer.Option(help="Only this source: tag, label, curator, predicted.")] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every genre row of every track, rejected ones included.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List each track's assigned genre (label > curator > predicted > file tag) with its source."""
    from soundalike.embed.genres import list_track_genres

    with database() as session:
        rows = list_track_genres(session, source=source, every=every)
    emit(
        {"tracks": rows},
        as_json,
        lambda: table(
            "Genres" if every else "Assigned genres",
            ("track", "genre", "source", "confidence", "rejected", "path"),
            [
                [
                    r["track_id"],
                    r["genre"],
                    r["source"],
                    fmt(r["confidence"]) if r["confidence"] is not None else "",
                    "rejected" if r["rejected"] else "",
                    Path(str(r["path"])).name,
                ]
                for r in rows
            ],
            empty="No genres yet: they come from file tags at ingest, `soundalike labels import FILE` (path,genre), "
            "and `soundalike genres train` then `soundalike genres predict`.",
        ),
    )


@genres_app.command("train")
def genres_train(as_json: JsonOption = False) -> None:
    """Train the genre head on label and curator genres (file tags naming one of them count too), calibrated for
    the tagger ``SOUNDALIKE_GENRE_TAGGER`` names (head, spreading or combined).

    Tracks without a current embedding of the configured model are embedded first, as ``index build`` would.
    """
    from soundalike.embed.genre_head import train_genre_head
    from soundalike.embed.models import embed_missing, embedding_model
    from soundalike.ingest.device import resolve_device

    settings = State.settings()
    model = embedding_model(settings, resolve_device(settings.device))
    with database() as session:
        with progress_bar("embed", as_json) as (_, advance):
            embedded = embed_missing(session, model, on_track=advance)
        session.flush()
        meta = train_genre_head(session, settings.models_dir, model_name=model.name, tagger=settings.genre_tagger)
    data = {**asdict(meta), "embedded": embedded}
    emit(
        data,
        as_json,
        lambda: table(
            "Genre model",
            (
                "version",
                "input",
                "tagger",
                "classes",
                "train",
                "held-out",
                "accuracy",
                "macro F1",
                "L2",
                "temperature",
                "ECE",
                "ECE at T=1",
                "none beyond distance",
                "successor needs",
                "embedded first",
            ),
            [
                [
                    meta.version,
                    f"{meta.embedding_model} {meta.input}",
                    meta.tagger,
                    ", ".join(meta.classes),
                    meta.n_train,
                    f"{meta.n_test} ({meta.split})",
                    fmt(meta.accuracy),
                    fmt(meta.macro_f1),
                    f"{meta.l2:g}",
                    f"{meta.temperature:.2f}",
                    fmt(meta.ece),
                    fmt(meta.ece_uncalibrated),
                    fmt(meta.max_distance),
                    f"p >= {meta.min_confidence:.2f}",
                    f"{embedded} tracks with {model.name}",
                ]
            ],
        ),
    )


@genres_app.command("predict")
def genres_predict(as_json: JsonOption = False) -> None:
    """Tag every track without a label or accepted curator genre with the trained tagger (source ``predicted``).

    A track far from every genre, or whose rejected genre leaves no confident successor, gets none: its best
    call is kept as a suggestion (source ``suggested``) in the review queue.
    """
    from soundalike.embed.genre_head import predict_genres
    from soundalike.embed.review import suggestion_count

    settings = State.settings()
    with database() as session:
        count = predict_genres(session, settings.models_dir)
        none = suggestion_count(session)
    emit(
        {"predicted": count, "none_of_these": none},
        as_json,
        lambda: stderr.print(
            f"predicted genres for {count} tracks; {none} fit none of the genres (suggestions to review)"
        ),
    )


@genres_app.command("review")
def genres_review(
    track: Annotated[str, typer.Argument(help="Track id or path.")],
    genre: Annotated[str, typer.Argument(help="Genre name.")],
    accept: Annotated[bool, typer.Option("--accept/--reject", help="Accept or reject the genre for the track.")],
    as_json: JsonOption = False,
) -> None:
    """Record a curator decision: an accepted genre becomes a label, a rejected one is never predicted."""
    from soundalike.embed.review import review_genre
    from soundalike.ingest.history import resolve_track

    with database() as session:
        track_id = resolve_track(session, track, Path.cwd())
        row = review_genre(session, track_id, genre, accept=accept)
        data = {"track_id": track_id, "genre": row.genre.name, "source": row.source, "rejected": row.rejected}
    emit(
        data,
        as_json,
        lambda: stderr.print(f"track {track_id}: {data['genre']} {'rejected' if data['rejected'] else 'accepted'}"),
    )
