"""``soundalike eval playlists``: offline evaluation of playlists on simulated listeners."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from soundalike.cli.evaluate import eval_app
from soundalike.cli.output import JsonOption, emit, open_service, table


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
    scores: dict[str, dict[str, Any]] = report["scores"]
    columns = ("strategy", f"hit-rate@{k}", f"precision@{k}", "diversity", "artist cap kept")
    rows = [[s, v["hit_rate"], v["precision"], v["diversity"], v["artist_cap_ok"]] for s, v in scores.items()]
    emit(report, as_json, lambda: table(f"Playlists on {report['listeners']} simulated listeners", columns, rows))
