"""The radio driving a real MPD (Debian's ``mpd``, null audio output) over the ingested test library."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mpd import MPDClient
from sqlalchemy import select

from soundalike.ingest.db.models import RadioTrack, Track
from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.settings import Settings

from support.cli_runner import cli_failure, run_cli
from support.servers import free_port

pytestmark = pytest.mark.skipif(shutil.which("mpd") is None, reason="needs Debian's mpd (scripts/install.sh --dev)")


@pytest.fixture
def mpd_port(library: Path, tmp_path: Path) -> Iterator[int]:
    """MPD on a free loopback port with ``library`` as its music folder and a null output, its database updated."""
    port, state = free_port(), tmp_path / "mpd"
    state.mkdir()
    config = state / "mpd.conf"
    config.write_text(
        f'music_directory "{library}"\ndb_file "{state / "db"}"\nstate_file "{state / "state"}"\n'
        f'pid_file "{state / "pid"}"\nlog_file "{state / "log"}"\nbind_to_address "127.0.0.1"\nport "{port}"\n'
        'audio_output {\n type "null"\n name "null"\n}\n'
    )
    process = subprocess.Popen(["mpd", "--no-daemon", str(config)], stderr=subprocess.DEVNULL)
    try:
        client = MPDClient()
        deadline = time.monotonic() + 10
        while True:
            try:
                client.connect("127.0.0.1", port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        client.update()
        while "updating_db" in client.status():
            time.sleep(0.1)
        client.disconnect()
        yield port
    finally:
        process.terminate()
        process.wait(10)


def skip_early(port: int, skipped: list[str]) -> None:
    """Once MPD plays, skip the song one second in, as a listener pressing next."""
    client = MPDClient()
    client.connect("127.0.0.1", port)
    deadline = time.monotonic() + 10
    while client.status().get("state") != "play" and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    skipped.append(client.currentsong()["file"])
    client.next()
    client.disconnect()


@pytest.mark.slow
def test_mpd_plays_radio_picks_without_repeats_and_an_early_next_is_a_skip(
    library: Path, mpd_port: int, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    settings = settings.model_copy(update={"embedding_model": "mfcc-stats"})
    run_cli(settings, "ingest", str(library), "--workers", "1")
    run_cli(settings, "index", "build")
    with session_scope(open_database(settings.db_url)) as session:
        ids = {Path(p).relative_to(library).as_posix(): t for t, p in session.execute(select(Track.id, Track.path))}
    seed = ids["drone/drone_00.wav"]
    skipped: list[str] = []
    listener = threading.Thread(target=skip_early, args=(mpd_port, skipped))
    listener.start()
    args = ("radio", "mpd", f"127.0.0.1:{mpd_port}", "--music-dir", str(library), "--seed", str(seed))
    done = run_cli(settings, *args, "--ahead", "2", "--run-for", "10.5")
    listener.join()

    client = MPDClient()
    client.connect("127.0.0.1", mpd_port)
    queue = [ids[song["file"]] for song in client.playlistinfo()]
    client.disconnect()
    assert queue == done["queued"] and len(queue) == len(set(queue)) >= 4 and seed not in queue
    events = {e["track_id"]: e for e in done["feedback"]}
    first = events[ids[skipped[0]]]
    assert first["event"] == "skipped" and 0.5 < first["position_s"] < 4.0
    assert any(e["event"] == "played" for e in events.values())
    with session_scope(open_database(settings.db_url)) as session:
        stored = dict(
            session.execute(
                select(RadioTrack.track_id, RadioTrack.event).where(RadioTrack.session_id == done["session"])
            ).all()
        )
    assert stored[ids[skipped[0]]] == "skipped" and set(stored) == set(queue)


def test_an_unreachable_mpd_is_a_clear_failure(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    failure = cli_failure(settings, "radio", "mpd", f"127.0.0.1:{free_port()}", "--music-dir", str(tmp_path))
    assert failure["type"] == "InputError" and "unreachable" in failure["error"]
    malformed = cli_failure(settings, "radio", "mpd", "nowhere", "--music-dir", str(tmp_path))
    assert malformed["type"] == "InputError" and "HOST:PORT" in malformed["error"]
