"""Mood commands: the facets, one track's moods, curator review."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from soundalike.cli.app import moods_app
from soundalike.cli.output import JsonOption, database, emit, stderr, table

TrackArgument = Annotated[str, typer.Argument(help="Track id or path.")]


@moods_app.command("list")
def moods_list(as_json: JsonOption = False) -> None:
    """Every mood with how many tracks carry it and the calibrated tag probability a track must exceed."""
    from soundalike.recommend.track_table import TrackTable

    with database() as session:
        facets = TrackTable.load(session).moods.facets()
    emit(
        {"moods": facets},
        as_json,
        lambda: table(
            "Moods", ("mood", "tracks", "threshold"), [(f["mood"], f["tracks"], f["threshold"]) for f in facets]
        ),
    )


@moods_app.command("show")
def moods_show(track: TrackArgument, as_json: JsonOption = False) -> None:
    """The moods a track carries (calibrated facets, curator verdicts applied)."""
    from soundalike.ingest.history import resolve_track
    from soundalike.recommend.browse import track_moods
    from soundalike.recommend.track_table import TrackTable

    with database() as session:
        data = track_moods(TrackTable.load(session), resolve_track(session, track, Path.cwd()))
    emit(data, as_json, lambda: stderr.print(f"track {data['track_id']}: {', '.join(data['moods']) or 'no moods'}"))


@moods_app.command("review")
def moods_review(
    track: TrackArgument,
    mood: Annotated[str, typer.Argument(help="Mood name (see `soundalike moods list`).")],
    accept: Annotated[bool, typer.Option("--accept/--reject", help="Accept or reject the mood for the track.")],
    as_json: JsonOption = False,
) -> None:
    """Record a curator decision on a track's mood; it overrides the calibrated facet."""
    from soundalike.ingest.history import resolve_track
    from soundalike.recommend.mood_review import review_mood

    with database() as session:
        track_id = resolve_track(session, track, Path.cwd())
        name = review_mood(session, track_id, mood, accept=accept)
    data = {"track_id": track_id, "mood": name, "accepted": accept}
    emit(data, as_json, lambda: stderr.print(f"track {track_id}: {name} {'accepted' if accept else 'rejected'}"))
