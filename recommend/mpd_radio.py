"""A radio that keeps an MPD queue going: it watches MPD's idle events, keeps the queue a few tracks ahead with
radio picks, and tells the radio what the listener did: a song that leaves before half its length is a skip at
that position, one that gets further is a play.

MPD names songs relative to its ``music_directory``; ``PathMap`` pairs that folder with ours.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from mpd import MPDClient
from mpd.base import CommandError
from mpd.base import ConnectionError as MpdConnectionError
from sqlalchemy.orm import Session, sessionmaker

from soundalike.ingest.db.session import session_scope
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.recommend.media_server import PathMap, resolve_song
from soundalike.recommend.radio_sessions import next_tracks, record_feedback
from soundalike.recommend.track_table import CatalogueIndex

SKIP_BEFORE = 0.5
POLL_S = 0.5
CONNECT_TIMEOUT_S = 5.0
IDLE_TIMEOUT_S = 1.0


def parse_address(text: str) -> tuple[str, int]:
    """(host, port) of ``HOST:PORT``; InputError when it is not one."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"MPD address {text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def connect(host: str, port: int) -> MPDClient:
    """A client connected to MPD; InputError naming the address when MPD cannot be reached."""
    client = MPDClient()
    client.timeout = CONNECT_TIMEOUT_S
    try:
        client.connect(host, port)
    except (OSError, MpdConnectionError) as exc:
        raise InputError(f"MPD at {host}:{port} is unreachable: {exc}") from exc
    client.timeout = None
    return client


@dataclass
class Playing:
    """The song MPD plays: its queue id, file, where it was last seen and when, its length."""

    song_id: str
    file: str
    elapsed: float
    duration: float | None
    seen_at: float
    running: bool

    def position(self, now: float) -> float:
        """Where the song is now, from where it was last seen (MPD reports nothing when a song leaves)."""
        return self.elapsed + (now - self.seen_at if self.running else 0.0)


class MpdRadio:
    """One radio session driving one MPD queue."""

    def __init__(
        self,
        client: MPDClient,
        factory: sessionmaker[Session],
        index: CatalogueIndex,
        radio: str,
        path_map: PathMap,
        *,
        address: tuple[str, int],
        ahead: int = 3,
    ) -> None:
        """Drive the queue of ``client`` (connected to MPD at ``address``) from radio session ``radio``, ``ahead``
        tracks past the one playing."""
        if ahead < 1:
            raise InputError(f"ahead must be >= 1, got {ahead}")
        self.client, self.factory, self.index, self.radio = client, factory, index, radio
        self.address = address
        self.path_map, self.ahead = path_map, ahead
        self.playing: Playing | None = None
        self.queued: list[int] = []
        self.feedback: list[tuple[int, str, float]] = []

    def run(self, stop: threading.Event, run_for: float | None = None) -> None:
        """Fill the queue, start playback if MPD is stopped, then follow it until ``stop`` is set or ``run_for``
        seconds have passed: a second connection waits in MPD's ``idle`` for player and queue changes, and the
        queue is checked on each change (and every ``POLL_S`` to keep the position of the song fresh)."""
        deadline = None if run_for is None else time.monotonic() + run_for
        self.fill()
        if self.client.status().get("state") == "stop":
            self.client.play()
        self.observe()
        changed = threading.Event()
        watcher = threading.Thread(target=watch, args=(self.address, changed, stop), daemon=True)
        watcher.start()
        try:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                wait = POLL_S if deadline is None else max(0.0, min(POLL_S, deadline - time.monotonic()))
                changed.wait(wait)
                changed.clear()
                self.observe()
                self.fill()
        finally:
            stop.set()
            watcher.join(IDLE_TIMEOUT_S + CONNECT_TIMEOUT_S)

    def fill(self) -> None:
        """Add radio picks until ``ahead`` songs follow the one playing."""
        status = self.client.status()
        length = int(status.get("playlistlength", 0))
        upcoming = length - int(status["song"]) - 1 if "song" in status else length
        if upcoming >= self.ahead:
            return
        with session_scope(self.factory) as session:
            results = next_tracks(session, self.index, self.radio, self.ahead - upcoming)
        for result in results:
            uri = self.path_map.relative(result.path)
            if uri is None:
                raise InputError(f"track {result.track_id} ({result.path}) lies outside MPD's music folder")
            self.client.add(uri)
            self.queued.append(result.track_id)

    def observe(self) -> None:
        """Read what MPD plays; when the song seen before has left, tell the radio how far it got."""
        now = time.monotonic()
        status = self.client.status()
        song_id = status.get("songid")
        before = self.playing
        if before is not None and before.song_id != song_id:
            self.left(before, now)
        if song_id is None or status.get("state") == "stop":
            self.playing = None
            return
        current = self.client.currentsong()
        duration = status.get("duration") or current.get("duration")
        self.playing = Playing(
            song_id,
            current.get("file", ""),
            float(status.get("elapsed", 0.0)),
            float(duration) if duration else None,
            now,
            status.get("state") == "play",
        )

    def left(self, song: Playing, now: float) -> None:
        """Record a song that left: a skip before ``SKIP_BEFORE`` of its length, else a play."""
        position = song.position(now)
        if song.duration:
            position = min(position, song.duration)
        skipped = song.duration is not None and position < SKIP_BEFORE * song.duration
        event = "skipped" if skipped else "played"
        with session_scope(self.factory) as session:
            try:
                track_id = resolve_song(session, song.file, self.path_map)
                record_feedback(session, self.radio, track_id, event, position)
            except (NotFoundError, InputError):
                return
        self.feedback.append((track_id, event, position))


def watch(address: tuple[str, int], changed: threading.Event, stop: threading.Event) -> None:
    """Until ``stop`` is set: wait in MPD's ``idle`` for player or queue changes and set ``changed`` on each. The
    wait is cut every ``IDLE_TIMEOUT_S`` to look at ``stop``; the connection is then opened again, since MPD
    still holds the cut ``idle``."""
    while not stop.is_set():
        client = MPDClient()
        client.idletimeout = IDLE_TIMEOUT_S
        try:
            client.connect(*address)
            while not stop.is_set():
                client.idle("player", "playlist")
                changed.set()
        except (OSError, MpdConnectionError):
            pass
        finally:
            client.disconnect()


def close(client: MPDClient) -> None:
    """Disconnect from MPD, whatever state the connection is in."""
    try:
        client.close()
        client.disconnect()
    except (OSError, MpdConnectionError, CommandError):
        client.disconnect()
