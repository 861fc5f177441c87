"""Retrieval commands: similar tracks and a listener's playlist."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from soundalike.cli.app import app
from soundalike.cli.output import JsonOption, M3uOption, open_service, show_results
from soundalike.ingest.db.models import MAX_ID
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.errors import SoundalikeError
from soundalike.recommend.defaults import DEFAULTS

GenreOption = Annotated[list[str] | None, typer.Option("--genre", help="Keep tracks of this genre (repeatable).")]
MoodOption = Annotated[
    list[str] | None, typer.Option("--mood", help="Keep tracks with this mood (repeatable: all of them).")
]
KeyOption = Annotated[list[str] | None, typer.Option("--key", help="Keep tracks in this key (repeatable).")]
ExcludeOption = Annotated[
    list[int] | None, typer.Option("--exclude", min=1, max=MAX_ID, help="Leave out this track id (repeatable).")
]


@app.command()
def similar(
    track_id: Annotated[int | None, typer.Argument(min=1, max=MAX_ID, help="Catalogue track id.")] = None,
    seed: Annotated[
        list[int] | None, typer.Option("--seed", min=1, max=MAX_ID, help="Seed track id (repeatable: multi-seed).")
    ] = None,
    path: Annotated[
        Path | None,
        typer.Option(
            "--path",
            exists=True,
            dir_okay=False,
            help="An audio file instead of a track id (a catalogued one: its track).",
        ),
    ] = None,
    describe: Annotated[
        str | None, typer.Option("--describe", help='Moods in words instead of seeds: "mellow guitar".')
    ] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=DEFAULTS.max_results, help="How many results.")] = DEFAULTS.k,
    genre: GenreOption = None,
    mood: MoodOption = None,
    tempo_min: Annotated[float | None, typer.Option(help="Lowest tempo (bpm).")] = None,
    tempo_max: Annotated[float | None, typer.Option(help="Highest tempo (bpm).")] = None,
    key: KeyOption = None,
    year_min: Annotated[int | None, typer.Option(help="Earliest year.")] = None,
    year_max: Annotated[int | None, typer.Option(help="Latest year.")] = None,
    exclude: ExcludeOption = None,
    artist_cap: Annotated[
        int | None, typer.Option(min=1, max=DEFAULTS.max_artist_cap, help="At most this many tracks per artist.")
    ] = None,
    diversity: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="MMR trade-off (0 = pure similarity).")
    ] = DEFAULTS.similar_diversity,
    m3u: M3uOption = None,
    as_json: JsonOption = False,
) -> None:
    """Tracks that sound like one or several catalogue tracks or an audio file, or that carry described moods."""
    from soundalike.ingest.library import catalogued_track
    from soundalike.recommend.describe import described
    from soundalike.recommend.filters import Filters
    from soundalike.recommend.similar import Options, similar_to_tracks, similar_to_vector

    seeds = ([track_id] if track_id is not None else []) + list(seed or [])
    if sum((bool(seeds), path is not None, describe is not None)) != 1:
        raise SoundalikeError('give TRACK_ID / --seed ids, --path FILE or --describe "words"')
    filters = Filters.build(
        genres=genre,
        moods=mood,
        tempo_min=tempo_min,
        tempo_max=tempo_max,
        keys=key,
        year_min=year_min,
        year_max=year_max,
        exclude=exclude,
    )
    service = open_service()
    options = Options(filters=filters, artist_cap=artist_cap, diversity=diversity)
    with session_scope(service.factory) as session:
        catalogued = catalogued_track(session, path) if path is not None else None
        if catalogued is not None:
            seeds = [catalogued]  # a file the catalogue holds as it is: its stored vectors, and itself left out
        if describe is not None:
            results = described(service.index.table, describe, k, options)
        elif path is not None and catalogued is None:
            results = similar_to_vector(session, service.index, service.model.embed_file(path), k, options)
        else:
            results = similar_to_tracks(session, service.index, seeds, k, options)
    show_results("Similar tracks", {"seeds": seeds}, results, as_json, m3u)


@app.command()
def recommend(
    user: Annotated[str, typer.Argument(help="User name as in the imported history.")],
    n: Annotated[
        int, typer.Option("-n", min=1, max=DEFAULTS.max_results, help="Playlist length.")
    ] = DEFAULTS.playlist_length,
    half_life_days: Annotated[
        float, typer.Option(min=0.01, help="Recency half-life of plays, in days.")
    ] = DEFAULTS.half_life_days,
    diversity: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="MMR trade-off (0 = pure relevance).")
    ] = DEFAULTS.playlist_diversity,
    artist_cap: Annotated[
        int, typer.Option(min=1, max=DEFAULTS.max_artist_cap, help="At most this many tracks per artist.")
    ] = DEFAULTS.playlist_artist_cap,
    include_heard: Annotated[bool, typer.Option("--include-heard", help="Allow tracks already played.")] = False,
    genre: GenreOption = None,
    mood: MoodOption = None,
    m3u: M3uOption = None,
    as_json: JsonOption = False,
) -> None:
    """A playlist of unheard tracks for the user's interests (cold start stated when history is thin)."""
    from soundalike.recommend.filters import Filters
    from soundalike.recommend.playlist import PlaylistOptions, playlist_for_user

    options = PlaylistOptions(
        n=n,
        half_life_days=half_life_days,
        diversity=diversity,
        artist_cap=artist_cap,
        include_heard=include_heard,
        filters=Filters.build(genres=genre, moods=mood),
    )
    service = open_service()
    with session_scope(service.factory) as session:
        made = playlist_for_user(session, service.index, user, options)
    data: dict[str, object] = {"user": user, "strategy": made.strategy, "interests": made.interests}
    show_results(f"Playlist for {user} ({made.strategy})", data, made.results, as_json, m3u)
