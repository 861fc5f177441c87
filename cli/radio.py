"""``soundalike radio``: start a radio, ask for its next tracks, tell it what was played or skipped, drive MPD."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from soundalike.cli.app import app
from soundalike.cli.output import JsonOption, database, emit, open_service, show_results, table
from soundalike.ingest.db.models import MAX_ID
from soundalike.ingest.db.session import session_scope
from soundalike.recommend.defaults import DEFAULTS

radio_app = typer.Typer(no_args_is_help=True, help="A radio that learns from skips; an MPD queue kept going.")
app.add_typer(radio_app, name="radio")
SeedOption = Annotated[list[int] | None, typer.Option("--seed", min=1, max=MAX_ID, help="A seed track id (repeat).")]
UserOption = Annotated[str | None, typer.Option("--user", help="The listener; their feedback becomes their plays.")]
CountOption = Annotated[int, typer.Option("-n", min=1, max=DEFAULTS.max_results, help="How many tracks.")]


@radio_app.command("start")
def radio_start(
    seed: SeedOption = None, user: UserOption = None, n: CountOption = 10, as_json: JsonOption = False
) -> None:
    """Start a radio from seed tracks and/or a listener; prints its session id and first tracks."""
    from soundalike.recommend.radio_sessions import start_radio

    service = open_service()
    with session_scope(service.factory) as session:
        radio, results = start_radio(session, service.index, seeds=seed or [], user=user, n=n)
    show_results(f"Radio {radio}", {"session": radio}, results, as_json, None, key="tracks")


@radio_app.command("next")
def radio_next(
    session_id: Annotated[str, typer.Argument(metavar="SESSION", help="The radio session id.")],
    n: CountOption = 1,
    as_json: JsonOption = False,
) -> None:
    """The radio's next tracks, steered by the feedback so far."""
    from soundalike.recommend.radio_sessions import next_tracks

    service = open_service()
    with session_scope(service.factory) as session:
        results = next_tracks(session, service.index, session_id, n)
    show_results(f"Radio {session_id}", {}, results, as_json, None, key="tracks")


@radio_app.command("feedback")
def radio_feedback(
    session_id: Annotated[str, typer.Argument(metavar="SESSION", help="The radio session id.")],
    track: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="A track the radio served.")],
    event: Annotated[str, typer.Argument(metavar="played|skipped", help="What the listener did.")],
    position: Annotated[float, typer.Option("--position", min=0.0, help="Where in the track it ended, seconds.")],
    as_json: JsonOption = False,
) -> None:
    """Tell the radio a served track was played through or skipped at --position seconds."""
    from soundalike.recommend.radio_sessions import record_feedback

    with database() as session:
        stored = record_feedback(session, session_id, track, event, position).as_dict()
    emit(stored, as_json, lambda: table("Radio feedback", list(stored), [list(stored.values())]))


@radio_app.command("mpd")
def radio_mpd(
    address: Annotated[str, typer.Argument(metavar="HOST:PORT", help="Where MPD listens.")],
    music_dir: Annotated[Path, typer.Option("--music-dir", help="Our folder that is MPD's music_directory.")],
    seed: SeedOption = None,
    user: UserOption = None,
    ahead: Annotated[int, typer.Option("--ahead", min=1, max=50, help="Songs kept queued past the one playing.")] = 3,
    run_for: Annotated[float | None, typer.Option("--run-for", min=0.0, help="Stop after this many seconds.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Keep MPD's queue going with radio picks; skips (a song left before half) steer it. Stops on Ctrl-C/SIGTERM."""
    from soundalike.recommend.media_server import PathMap, resolve_song
    from soundalike.recommend.mpd_radio import MpdRadio, close, connect, parse_address
    from soundalike.recommend.radio_sessions import create_radio

    host, port = parse_address(address)
    path_map = PathMap(((str(music_dir.resolve()), "/"),))
    client = connect(host, port)
    try:
        service = open_service()
        seeds = list(seed or [])
        with session_scope(service.factory) as session:
            playing = client.currentsong().get("file")
            if not seeds and user is None and playing:
                seeds = [resolve_song(session, playing, path_map)]
            radio = create_radio(session, service.index, seeds=seeds, user=user)
        driver = MpdRadio(client, service.factory, service.index, radio, path_map, address=(host, port), ahead=ahead)
        stop = threading.Event()
        previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            driver.run(stop, run_for)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    finally:
        close(client)
    data = {
        "session": radio,
        "queued": driver.queued,
        "feedback": [{"track_id": t, "event": e, "position_s": round(p, 3)} for t, e, p in driver.feedback],
    }
    emit(data, as_json, lambda: table(f"Radio {radio} on MPD", ("track", "event", "position s"), driver.feedback))
