"""A tiny Subsonic server on loopback answering recorded OpenSubsonic shapes (Navidrome and gonic send
``playCount`` and ``played`` on song entries), or failing on purpose: refusing, slow, malformed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from hashlib import md5
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class StubLibrary:
    """What the stub serves for its one user, and how it misbehaves (``mode``)."""

    user: str = "alice"
    password: str = "s3cret-pw"
    songs: list[dict[str, Any]] = field(default_factory=list)
    playlists: dict[str, dict[str, Any]] = field(default_factory=dict)
    mode: str = "ok"
    delay_s: float = 3.0
    calls: list[str] = field(default_factory=list)


def _envelope(body: dict[str, Any], status: str = "ok") -> bytes:
    return json.dumps(
        {"subsonic-response": {"status": status, "version": "1.16.1", "openSubsonic": True, **body}}
    ).encode()


def _signed_in(stub: StubLibrary, q: dict[str, str]) -> bool:
    if q.get("u") != stub.user:
        return False
    if "t" in q and "s" in q:
        return md5((stub.password + q["s"]).encode()).hexdigest() == q["t"]
    return q.get("p") in (stub.password, "enc:" + stub.password.encode().hex().upper())


def _answer(stub: StubLibrary, method: str, q: dict[str, str], lists: dict[str, list[str]]) -> bytes:
    if not _signed_in(stub, q):
        return _envelope({"error": {"code": 40, "message": "Wrong username or password"}}, "failed")
    if method == "ping":
        return _envelope({})
    if method == "search3":
        offset, count = int(q.get("songOffset", 0)), int(q.get("songCount", 20))
        return _envelope({"searchResult3": {"song": stub.songs[offset : offset + count]}})
    if method == "getPlaylists":
        entries = [
            {"id": i, "name": p["name"], "owner": p["owner"], "songCount": len(p["songs"])}
            for i, p in stub.playlists.items()
        ]
        return _envelope({"playlists": {"playlist": entries}})
    if method == "getPlaylist":
        p = stub.playlists[q["id"]]
        return _envelope({"playlist": {"id": q["id"], "name": p["name"], "entry": [{"id": s} for s in p["songs"]]}})
    if method == "createPlaylist":
        songs = lists.get("songId", [])
        if "playlistId" in q:
            stub.playlists[q["playlistId"]]["songs"] = songs
            return _envelope({})
        new_id = f"pl-{len(stub.playlists) + 1}"
        stub.playlists[new_id] = {"name": q["name"], "owner": stub.user, "songs": songs}
        return _envelope({"playlist": {"id": new_id, "name": q["name"]}})
    return _envelope({"error": {"code": 0, "message": f"unknown method {method}"}}, "failed")


def _handler(stub: StubLibrary) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def _serve(self, raw: str) -> None:
            url = urlsplit(self.path)
            params = parse_qs(url.query) | parse_qs(raw)
            q = {k: v[0] for k, v in params.items()}
            method = url.path.rsplit("/", 1)[-1].removesuffix(".view")
            stub.calls.append(method)
            if stub.mode == "slow":
                time.sleep(stub.delay_s)
            if stub.mode == "http500":
                self.send_response(500)
                self.end_headers()
                return
            body = {
                "malformed_json": b'{"subsonic-response": {"status": "ok", "searchResult3": ',
                "xml": b'<?xml version="1.0"?><subsonic-response status="ok" version="1.16.1"/>',
            }.get(stub.mode) or _answer(stub, method, q, params)
            self.send_response(200)
            self.send_header("Content-Type", "text/xml" if stub.mode == "xml" else "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            self._serve("")

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            self._serve(self.rfile.read(length).decode())

    return Handler


@contextmanager
def serving(stub: StubLibrary) -> Iterator[str]:
    """The stub on a free loopback port; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
