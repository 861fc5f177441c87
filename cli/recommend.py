"""Retrieval commands: similar tracks, playlists, sonic paths, M3U export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from soundalike.cli.app import app
from soundalike.cli.output import RESULT_COLUMNS, JsonOption, emit, open_service, result_rows, table
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.errors import SoundalikeError

if TYPE_CHECKING:
    from soundalike.recommend.filters import Filters
    from soundalike.recommend.results import Result

playlist_app = typer.Typer(no_args_is_help=True, help="Playlists: sonic paths between tracks.")
app.add_typer(playlist_app, name="playlist")

GenreOption = Annotated[list[str] | None, typer.Option("--genre", help="Keep tracks of this genre (repeatable).")]
KeyOption = Annotated[list[str] | None, typer.Option("--key", help="Keep tracks in this key (repeatable).")]
ExcludeOption = Annotated[list[int] | None, typer.Option("--exclude", help="Leave out this track id (repeatable).")]
M3uOption = Annotated[Path | None, typer.Option("--m3u", help="Also write the tracks as an M3U playlist file.")]


def _filters(
    genre: list[str] | None,
    tempo_min: float | None,
    tempo_max: float | None,
    key: list[str] | None,
    year_min: int | None,
    year_max: int | None,
    exclude: list[int] | None,
) -> Filters:
    from soundalike.recommend.filters import Filters

    return Filters.build(
        genres=genre, tempo_min=tempo_min, tempo_max=tempo_max, keys=key, year_min=year_min, year_max=year_max,
        exclude=exclude,
    )  # fmt: skip


def _show(title: str, data: dict[str, object], results: list[Result], as_json: bool, m3u: Path | None) -> None:
    from soundalike.recommend.m3u import write_m3u

    if m3u is not None:
        data["m3u"] = str(write_m3u(results, m3u))
    rows = [r.as_dict() for r in results]
    data["results"] = rows
    emit(data, as_json, lambda: table(title, (*RESULT_COLUMNS, "why"), _with_why(rows)))


def _with_why(rows: list[dict[str, object]]) -> list[list[object]]:
    table_rows = result_rows(rows)
    for row, result in zip(table_rows, rows, strict=True):
        why = result.get("why")
        row.append(why.get("text") if isinstance(why, dict) else "")
    return table_rows


@app.command()
def similar(
    track_id: Annotated[int | None, typer.Argument(help="Catalogue track id.")] = None,
    seed: Annotated[list[int] | None, typer.Option("--seed", help="Seed track id (repeatable: multi-seed).")] = None,
    path: Annotated[Path | None, typer.Option("--path", help="An audio file instead of a track id.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=1000, help="How many results.")] = 10,
    genre: GenreOption = None,
    tempo_min: Annotated[float | None, typer.Option(help="Lowest tempo (bpm).")] = None,
    tempo_max: Annotated[float | None, typer.Option(help="Highest tempo (bpm).")] = None,
    key: KeyOption = None,
    year_min: Annotated[int | None, typer.Option(help="Earliest year.")] = None,
    year_max: Annotated[int | None, typer.Option(help="Latest year.")] = None,
    exclude: ExcludeOption = None,
    artist_cap: Annotated[int | None, typer.Option(min=1, help="At most this many tracks per artist.")] = None,
    diversity: Annotated[float, typer.Option(min=0.0, max=1.0, help="MMR trade-off (0 = pure similarity).")] = 0.0,
    m3u: M3uOption = None,
    as_json: JsonOption = False,
) -> None:
    """Tracks that sound like one or several catalogue tracks, or an audio file."""
    from soundalike.recommend.similar import Options, similar_to_tracks, similar_to_vector

    seeds = ([track_id] if track_id is not None else []) + list(seed or [])
    if bool(seeds) == (path is not None):
        raise SoundalikeError("give TRACK_ID / --seed ids, or --path FILE")
    filters = _filters(genre, tempo_min, tempo_max, key, year_min, year_max, exclude)
    options = Options(filters=filters, artist_cap=artist_cap, diversity=diversity)
    service = open_service()
    with session_scope(service.factory) as session:
        if path is not None:
            results = similar_to_vector(session, service.index, service.model.embed_file(path), k, options)
        else:
            results = similar_to_tracks(session, service.index, seeds, k, options)
    _show("Similar tracks", {"seeds": seeds}, results, as_json, m3u)


@app.command()
def recommend(
    user: Annotated[str, typer.Argument(help="User name as in the imported history.")],
    n: Annotated[int, typer.Option("-n", min=1, max=1000, help="Playlist length.")] = 20,
    half_life_days: Annotated[float, typer.Option(min=0.01, help="Recency half-life of plays, in days.")] = 30.0,
    diversity: Annotated[float, typer.Option(min=0.0, max=1.0, help="MMR trade-off (0 = pure relevance).")] = 0.3,
    artist_cap: Annotated[int, typer.Option(min=1, help="At most this many tracks per artist.")] = 2,
    include_heard: Annotated[bool, typer.Option("--include-heard", help="Allow tracks already played.")] = False,
    genre: GenreOption = None,
    m3u: M3uOption = None,
    as_json: JsonOption = False,
) -> None:
    """A playlist of unheard tracks for the user's interests (cold start stated when history is thin)."""
    from soundalike.recommend.playlist import PlaylistOptions, playlist_for_user

    options = PlaylistOptions(
        n=n,
        half_life_days=half_life_days,
        diversity=diversity,
        artist_cap=artist_cap,
        include_heard=include_heard,
        filters=_filters(genre, None, None, None, None, None, None),
    )
    service = open_service()
    with session_scope(service.factory) as session:
        made = playlist_for_user(session, service.index, user, options)
    data: dict[str, object] = {"user": user, "strategy": made.strategy, "interests": made.interests}
    _show(f"Playlist for {user} ({made.strategy})", data, made.results, as_json, m3u)


@playlist_app.command("path")
def playlist_path(
    start: Annotated[int, typer.Argument(help="First track id.")],
    end: Annotated[int, typer.Argument(help="Last track id.")],
    steps: Annotated[int, typer.Option("--steps", min=2, max=200, help="Tracks in the path, ends included.")] = 10,
    m3u: M3uOption = None,
    as_json: JsonOption = False,
) -> None:
    """A smooth sonic path from START to END, no track twice."""
    from soundalike.recommend.path import sonic_path

    service = open_service()
    with session_scope(service.factory) as session:
        results = sonic_path(session, service.index, start, end, steps)
    _show(f"Path {start} -> {end}", {"start": start, "end": end}, results, as_json, m3u)
