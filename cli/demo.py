"""The demo command: the whole job on a demo catalogue."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from soundalike.cli.app import app
from soundalike.cli.output import RESULT_COLUMNS, JsonOption, State, emit, fmt, result_rows, stderr, table


@app.command()
def demo(
    music: Annotated[Path | None, typer.Option(help="Use this folder instead of the Debian demo music.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Build the demo catalogue and run the whole job on it: ingest, index, tag, recommend."""
    from soundalike.demo.runner import run_demo

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
            [[", ".join(map(str, gm["classes"])), gm["n_train"], gm["n_test"], fmt(gm["accuracy"])]],
        )
        if summary.corpus_accuracy:
            acc = summary.corpus_accuracy
            table(
                "Genre tagging of held-out synthesised pieces",
                ("pieces", "accuracy"),
                [[acc["held_out_pieces"], fmt(acc["accuracy"])]],
            )
        if summary.genre_eval:
            ge = summary.genre_eval
            table(
                "Genre head on its held-out albums",
                ("tracks", "accuracy", "macro F1", "confusion matrix"),
                [[ge["n"], fmt(ge["accuracy"]), fmt(ge["macro_f1"]), ge["confusion_png"]]],
            )
        if summary.retrieval.get("unavailable"):
            stderr.print(f"retrieval evaluation skipped: {summary.retrieval['unavailable']}")
        elif summary.retrieval:
            rt = summary.retrieval
            table(
                "Retrieval of excerpts of the same track",
                ("tracks", "too short", "recall@1", "recall@10", "mAP", "album P@10", "embedding map"),
                [
                    [
                        rt["tracks"],
                        rt["skipped"],
                        fmt(rt["recall@1"]),
                        fmt(rt["recall@10"]),
                        fmt(rt["map"]),
                        fmt(rt["album_precision@10"]),
                        rt["embedding_map_png"],
                    ]
                ],
            )
        table(
            "Predicted genres (first 10)",
            ("track", "genre", "confidence", "file"),
            [
                [r["track_id"], r["genre"], fmt(r["confidence"]), Path(str(r["path"])).name]
                for r in summary.predicted[:10]
            ],
        )
        sim = summary.similar
        table(f"Similar to {Path(str(sim['path'])).name}", RESULT_COLUMNS, result_rows(sim["results"]))
        for user, playlist in summary.playlists.items():
            table(f"Playlist for {user}", RESULT_COLUMNS, result_rows(playlist))

    emit(asdict(summary), as_json, render)
