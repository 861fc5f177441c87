"""Evaluation commands: genre tagging on held-out tracks, retrieval on the catalogue, playlists on simulated
listeners."""

from __future__ import annotations

from typing import Annotated, Any, cast

import typer

from soundalike.cli.app import app
from soundalike.cli.output import JsonOption, State, database, emit, fmt, open_service, progress_bar, stderr, table

eval_app = typer.Typer(no_args_is_help=True, help="Evaluate genre tagging and retrieval; write reports and plots.")
app.add_typer(eval_app, name="eval")


@eval_app.command("genres")
def eval_genres(as_json: JsonOption = False) -> None:
    """Score the trained genre head on its held-out albums/artists: accuracy, macro-F1, ECE, per class; writes the
    confusion matrix and the reliability diagram."""
    from soundalike.embed.reports import genre_report

    settings = State.settings()
    with database() as session:
        report = genre_report(session, settings)

    def render() -> None:
        table(
            f"Genre head {report['model_version']} (held-out)",
            ("tracks", "accuracy", "macro F1", "ECE", "reliability diagram"),
            [
                [
                    report["n"],
                    fmt(report["accuracy"]),
                    fmt(report["macro_f1"]),
                    fmt(report["ece"]),
                    report["reliability_png"],
                ]
            ],
        )
        rows = cast(list[dict[str, object]], report["per_class"])
        table(
            "Per genre",
            ("genre", "precision", "recall", "F1", "support"),
            [[r["genre"], fmt(r["precision"]), fmt(r["recall"]), fmt(r["f1"]), r["support"]] for r in rows],
        )
        stderr.print(f"confusion matrix: {report['confusion_png']}\nreport: {report['report']}")

    emit(report, as_json, render)


@eval_app.command("retrieval")
def eval_retrieval(
    excerpts: Annotated[int, typer.Option(min=2, help="Excerpts embedded per track.")] = 3,
    limit: Annotated[int | None, typer.Option(min=2, help="Evaluate at most this many tracks.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Do excerpts of one track find each other? Recall@1/@10, mAP, same-album precision@10."""
    from soundalike.embed.models import embedding_model
    from soundalike.embed.reports import retrieval_report
    from soundalike.ingest.device import resolve_device

    settings = State.settings()
    model = embedding_model(settings, resolve_device(settings.device))
    with database() as session, progress_bar("embedding excerpts", transient=as_json) as (set_total, advance):
        if limit is not None:
            set_total(limit)
        report = retrieval_report(session, settings, model, excerpts=excerpts, limit=limit, on_track=advance)

    def render() -> None:
        table(
            f"Retrieval with {report['model_name']}",
            ("tracks", "skipped", "recall@1", "recall@10", "mAP", "album P@10"),
            [
                [
                    report["tracks"],
                    report["skipped"],
                    fmt(report["recall@1"]),
                    fmt(report["recall@10"]),
                    fmt(report["map"]),
                    fmt(report["album_precision@10"]),
                ]
            ],
        )
        stderr.print(f"embedding map: {report['embedding_map_png']}\nreport: {report['report']}")

    emit(report, as_json, render)


@eval_app.command("playlists")
def eval_playlists(
    listeners: Annotated[int, typer.Option(min=1, max=10_000, help="Simulated listeners.")] = 50,
    k: Annotated[int, typer.Option("-k", min=1, max=200, help="Playlist length scored.")] = 10,
    group_by: Annotated[str, typer.Option(help="What a listener likes two of: album or genre.")] = "album",
    hold_out: Annotated[float, typer.Option(min=0.05, max=0.95, help="Share of liked tracks held out.")] = 0.5,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Hit-rate@k, precision@k, diversity and artist-cap compliance vs popularity and random baselines."""
    from soundalike.ingest.db.session import session_scope
    from soundalike.recommend.evaluation import evaluate_playlists

    service = open_service()
    with session_scope(service.factory) as session:
        report = evaluate_playlists(
            session, service.index, listeners=listeners, k=k, group_by=group_by, hold_out=hold_out, seed=seed
        )
        session.rollback()
    scores = cast(dict[str, dict[str, Any]], report["scores"])
    columns = ("strategy", f"hit-rate@{k}", f"precision@{k}", "diversity", "artist cap kept")
    rows = [[s, v["hit_rate"], v["precision"], v["diversity"], v["artist_cap_ok"]] for s, v in scores.items()]
    emit(report, as_json, lambda: table(f"Playlists on {report['listeners']} simulated listeners", columns, rows))
