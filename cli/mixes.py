"""Mix commands: list the stored mixes, refresh them from the catalogue, export one as M3U."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from soundalike.cli.app import mixes_app
from soundalike.cli.output import JsonOption, State, database, emit, stderr, table
from soundalike.ingest.db.models import MAX_ID

MixIdArgument = Annotated[int, typer.Argument(min=1, max=MAX_ID, help="Mix id (see `soundalike mixes`).")]


@mixes_app.callback(invoke_without_command=True)
def mixes(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the stored mixes with their tracks in listening order."""
    if ctx.invoked_subcommand is not None:
        return
    from soundalike.recommend.mix_store import mix_results, stored_mixes
    from soundalike.recommend.track_table import TrackTable

    with database() as session:
        loaded = TrackTable.load(session)
        found = []
        for mix_id, _, _ in stored_mixes(session):
            name, results = mix_results(session, loaded, mix_id)
            found.append({"id": mix_id, "name": name, "tracks": [r.as_dict() for r in results]})
    emit(
        {"mixes": found},
        as_json,
        lambda: table(
            "Mixes",
            ("id", "name", "tracks"),
            [(m["id"], m["name"], len(m["tracks"])) for m in found],
            empty="No mixes yet: `soundalike mixes refresh` cuts the catalogue into mixes, and `soundalike schedule` "
            "cuts them afresh after each ingest that changes it.",
        ),
    )


@mixes_app.command("refresh")
def mixes_refresh(
    size: Annotated[
        int | None, typer.Option("--size", min=2, max=1000, help="Tracks per mix to aim at (default 30).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Cut the catalogue into new mixes from the configured model's embeddings (the scheduler does this after each
    ingest)."""
    from soundalike.recommend.mix_store import refresh_mixes
    from soundalike.recommend.mixes import TARGET_SIZE

    with database() as session:
        planned = refresh_mixes(session, State.settings().embedding_model, target=size or TARGET_SIZE)
    data = {"mixes": len(planned), "tracks": sum(len(m.track_ids) for m in planned)}
    emit(data, as_json, lambda: stderr.print(f"made {data['mixes']} mixes of {data['tracks']} tracks"))


@mixes_app.command("export")
def mixes_export(
    mix_id: MixIdArgument,
    m3u: Annotated[Path, typer.Option("--m3u", dir_okay=False, help="Write the mix to this M3U file.")],
    as_json: JsonOption = False,
) -> None:
    """Write one mix as an extended M3U playlist, in listening order."""
    from soundalike.recommend.m3u import write_m3u
    from soundalike.recommend.mix_store import mix_results
    from soundalike.recommend.track_table import TrackTable

    with database() as session:
        name, results = mix_results(session, TrackTable.load(session), mix_id)
    data = {"id": mix_id, "name": name, "tracks": len(results), "m3u": str(write_m3u(results, m3u))}
    emit(data, as_json, lambda: stderr.print(f"wrote {name} ({len(results)} tracks) to {m3u}"))
