"""A Subsonic client on py-opensonic 10.4.1: it signs and sends the requests; the answers are read here,
defensively, because its dataclasses refuse what some servers omit (supysonic's playlists lack ``changed``).

Token auth (or an API key) is tried first; a server that refuses token auth (supysonic answers code 10 or
41) is asked again with the hex-encoded password. Every failure (unreachable, timed out, refused, an error
answer, malformed JSON or XML) is a ``MediaServerError`` whose message never holds the secret.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from libopensonic import Connection

from soundalike.ingest.errors import MediaServerError

PAGE_SIZE = 500
TOKEN_REFUSED = {10, 41, 42}
"""Error codes of servers that do not take token auth for this user (10: supysonic's missing ``p``)."""
APP_NAME = "soundalike"


@dataclass(frozen=True)
class ServerSong:
    """A song entry as the server sends it, with the signed-in user's plays, star and rating."""

    id: str
    path: str | None
    title: str | None
    artist: str | None
    duration: float | None
    musicbrainz_id: str | None
    play_count: int
    played: datetime | None
    starred: datetime | None
    rating: int


@dataclass(frozen=True)
class ServerPlaylist:
    """A playlist entry: id, name and owner."""

    id: str
    name: str
    owner: str | None


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time from a song entry in UTC (naive taken as UTC), or None when absent or malformed."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _int(value: object) -> int:
    try:
        return max(int(str(value)), 0) if value not in (None, "") else 0
    except ValueError:
        return 0


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def song_of(entry: dict[str, Any]) -> ServerSong | None:
    """A song from a ``song`` or ``entry`` object, or None for one without an id."""
    if not isinstance(entry, dict) or entry.get("id") in (None, ""):
        return None
    duration = entry.get("duration")
    return ServerSong(
        id=str(entry["id"]),
        path=_text(entry.get("path")),
        title=_text(entry.get("title")),
        artist=_text(entry.get("artist")),
        duration=float(duration) if isinstance(duration, int | float) else None,
        musicbrainz_id=_text(entry.get("musicBrainzId")),
        play_count=_int(entry.get("playCount")),
        played=parse_time(entry.get("played")),
        starred=parse_time(entry.get("starred")),
        rating=min(_int(entry.get("userRating")), 5),
    )


def _items(parent: object, key: str) -> list[dict[str, Any]]:
    """``parent[key]`` as a list of objects (XML-to-JSON servers send one item bare, none as absent)."""
    value = parent.get(key) if isinstance(parent, dict) else None
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


class SubsonicClient:
    """One signed-in user on one server; use ``connect`` to get one that is closed afterwards."""

    def __init__(self, url: str, username: str, *, password: str | None, api_key: str | None, timeout: float) -> None:
        """A client for ``url`` (scheme, host, port and path) as ``username``."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.label = f"{parts.scheme}://{parts.hostname}:{port}{parts.path}"
        self._connection = Connection(
            f"{parts.scheme}://{parts.hostname}",
            username=None if api_key else username,
            password=password,
            api_key=api_key,
            port=port,
            server_path=parts.path.strip("/"),
            app_name=APP_NAME,
        )
        self._connection._async._timeout = aiohttp.ClientTimeout(total=timeout)
        self._fallback = password is not None

    def close(self) -> None:
        """Close the HTTP session and the connection's event loop."""
        self._connection.cleanup()

    async def _send(self, method: str, query: dict[str, object], lists: dict[str, list[str]]) -> tuple[int, bytes]:
        response = await self._connection._async._do_request_with_lists(method, lists, query)
        try:
            return response.status, await response.read()
        finally:
            response.release()

    def call(
        self, method: str, query: dict[str, object] | None = None, lists: dict[str, list[str]] | None = None
    ) -> dict:
        """The ``subsonic-response`` object of a successful call; MediaServerError otherwise."""
        try:
            return self._answer(method, query or {}, lists or {})
        except _TokenRefused:
            self._connection.legacy_auth = True
            self._fallback = False
            return self._answer(method, query or {}, lists or {})

    def _answer(self, method: str, query: dict[str, object], lists: dict[str, list[str]]) -> dict:
        loop = self._connection._loop
        try:
            status, body = asyncio.run_coroutine_threadsafe(self._send(method, query, lists), loop).result()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise MediaServerError(f"{self.label} cannot be reached ({type(exc).__name__}) on {method}") from exc
        if status >= 400:
            raise MediaServerError(f"{self.label} answered HTTP {status} to {method}")
        try:
            answer = json.loads(body)["subsonic-response"]
        except (ValueError, KeyError, TypeError) as exc:
            raise MediaServerError(f"{self.label} answered {method} with something that is not Subsonic JSON") from exc
        if not isinstance(answer, dict):
            raise MediaServerError(f"{self.label} answered {method} with something that is not Subsonic JSON")
        if answer.get("status") != "ok":
            error = answer.get("error")
            error = error if isinstance(error, dict) else {}
            code = _int(error.get("code"))
            if self._fallback and code in TOKEN_REFUSED | {40}:
                raise _TokenRefused
            raise MediaServerError(
                f"{self.label} refused {method}: {error.get('message') or 'no reason'} (code {code})"
            )
        return answer

    def ping(self) -> str:
        """The server's API version, once it accepted the credentials."""
        answer = self.call("ping")
        return str(answer.get("version") or "?")

    def songs(self) -> Iterator[ServerSong]:
        """Every song of the library, by ``search3`` with an empty query, one page at a time."""
        offset = 0
        while True:
            answer = self.call(
                "search3",
                {"query": "", "songCount": PAGE_SIZE, "songOffset": offset, "artistCount": 0, "albumCount": 0},
            )
            page = _items(answer.get("searchResult3"), "song")
            yield from (s for s in map(song_of, page) if s is not None)
            if len(page) < PAGE_SIZE:
                return
            offset += len(page)

    def playlists(self) -> list[ServerPlaylist]:
        """The signed-in user's playlists (and those shared with them)."""
        answer = self.call("getPlaylists")
        return [
            ServerPlaylist(str(p["id"]), str(p.get("name") or ""), _text(p.get("owner")))
            for p in _items(answer.get("playlists"), "playlist")
            if p.get("id") not in (None, "")
        ]

    def playlist_songs(self, playlist_id: str) -> list[str]:
        """The song ids of a playlist, in order."""
        answer = self.call("getPlaylist", {"id": playlist_id})
        return [str(e["id"]) for e in _items(answer.get("playlist"), "entry") if e.get("id") not in (None, "")]

    def create_playlist(self, name: str, song_ids: list[str]) -> str:
        """Make a playlist and find its id (some servers, supysonic among them, answer none)."""
        before = {p.id for p in self.playlists()}
        answer = self.call("createPlaylist", {"name": name}, {"songId": song_ids})
        made = answer.get("playlist")
        if isinstance(made, dict) and made.get("id") not in (None, ""):
            return str(made["id"])
        new = [p.id for p in self.playlists() if p.name == name and p.id not in before]
        if len(new) != 1:
            raise MediaServerError(f"{self.label} made playlist {name!r} but it cannot be found again")
        return new[0]

    def replace_playlist(self, playlist_id: str, song_ids: list[str]) -> None:
        """Replace a playlist's songs in place (``createPlaylist`` with ``playlistId``)."""
        self.call("createPlaylist", {"playlistId": playlist_id}, {"songId": song_ids})


class _TokenRefused(Exception):
    """The server did not take token auth; ask again with the password."""


@contextmanager
def connect(url: str, username: str, *, auth: str, secret: str, timeout: float) -> Iterator[SubsonicClient]:
    """A client signed in with a password or an API key, closed on leaving."""
    client = SubsonicClient(
        url,
        username,
        password=secret if auth == "password" else None,
        api_key=secret if auth == "api_key" else None,
        timeout=timeout,
    )
    try:
        yield client
    finally:
        client.close()
