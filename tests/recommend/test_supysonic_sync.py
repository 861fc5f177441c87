"""Sync against a real Subsonic server: Debian's supysonic, isolated by working directory and HOME, serving the
test library, while Soundalike ingests a copy of it under another path (so the path map is exercised)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libopensonic
import pytest
from libopensonic.media import Child
from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.ingest.settings import Settings

from support.cli_runner import cli_env, run_cli
from support.servers import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("supysonic-server") is None, reason="Debian's supysonic is not installed"),
]
PASSWORDS = {"admin": "admin-pw", "alice": "alice-pw"}


@dataclass
class Supysonic:
    """A running supysonic: its URL and the folder it serves."""

    url: str
    port: int
    music: Path

    def call(self, user: str, method: str, **query: str) -> dict[str, Any]:
        """A raw API answer (supysonic takes only password auth, ``p=enc:HEX``)."""
        auth = {"u": user, "p": "enc:" + PASSWORDS[user].encode().hex(), "v": "1.16.1", "c": "test", "f": "json"}
        address = f"{self.url}/rest/{method}.view?{urllib.parse.urlencode(auth | query)}"
        with urllib.request.urlopen(address, timeout=10) as answer:
            return dict(json.load(answer)["subsonic-response"])

    def client(self, user: str) -> libopensonic.Connection:
        """A py-opensonic connection as ``user``, with the password auth supysonic takes."""
        return libopensonic.Connection(
            "http://127.0.0.1", username=user, password=PASSWORDS[user], port=self.port, legacy_auth=True
        )


@pytest.fixture
def supysonic(tmp_path: Path, library: Path) -> Iterator[Supysonic]:
    """supysonic with its own config, SQLite database and HOME, serving ``library``, users admin and alice."""
    where = tmp_path / "supysonic"
    (where / "home").mkdir(parents=True)
    (where / "supysonic.conf").write_text(
        f"[base]\ndatabase_uri = sqlite:///{where / 'supysonic.db'}\n"
        f"[webapp]\ncache_dir = {where / 'cache'}\nmount_webui = no\n"
        f"[daemon]\nsocket = {where / 'daemon.sock'}\n"
    )
    env = {"HOME": str(where / "home"), "PATH": "/usr/bin:/bin"}

    def cli(*args: str) -> None:
        subprocess.run(["supysonic-cli", *args], cwd=where, env=env, check=True, capture_output=True, timeout=60)

    cli("user", "add", "admin", "-p", PASSWORDS["admin"])
    cli("user", "setroles", "--admin", "admin")
    cli("user", "add", "alice", "-p", PASSWORDS["alice"])
    cli("folder", "add", "library", str(library))
    cli("folder", "scan", "library")
    port = free_port()
    server = subprocess.Popen(
        ["supysonic-server", "-S", "waitress", "-h", "127.0.0.1", "-p", str(port)],
        cwd=where,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    running = Supysonic(f"http://127.0.0.1:{port}", port, library)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                running.call("alice", "ping")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("supysonic did not start") from None
                time.sleep(0.2)
        yield running
    finally:
        server.terminate()
        server.wait(timeout=10)


def sync(settings: Settings) -> dict[str, Any]:
    return run_cli(settings, "sync", "home")


def our_playlists(server: Supysonic) -> dict[str, list[Child]]:
    """alice's playlists read back through the server's API, their entries parsed by py-opensonic."""
    found = {}
    for entry in server.call("alice", "getPlaylists")["playlists"].get("playlist", []):
        songs = server.call("alice", "getPlaylist", id=entry["id"])["playlist"].get("entry", [])
        found[entry["name"]] = [Child.from_dict(s) for s in songs]
    return found


def test_stars_and_ratings_on_supysonic_become_history_and_the_playlist_is_pushed_once(
    tmp_path: Path, library: Path, supysonic: Supysonic
) -> None:
    ours = tmp_path / "our-copy"
    shutil.copytree(library, ours)
    home = tmp_path / "home"
    home.mkdir()
    settings = Settings(home=home, database_url=f"sqlite:///{tmp_path / 'sa.db'}", embedding_model="mfcc-stats")
    run_cli(settings, "ingest", str(ours), "--workers", "1")
    run_cli(settings, "index", "build")
    added = CliRunner().invoke(
        app,
        ["--home", str(home), "server", "add", "home", supysonic.url, "--user", "alice", "--password-stdin"]
        + ["--path-map", f"{ours}={library}", "--json"],
        env=cli_env(settings),
        input=PASSWORDS["alice"] + "\n",
    )
    assert added.exit_code == 0, added.output
    assert PASSWORDS["alice"] not in added.output

    first = sync(settings)
    assert first["songs"] == first["matched"] > 0 and first["errors"] == []
    assert (first["events_added"], first["playlists_created"]) == (0, 1)
    cold = our_playlists(supysonic)["Soundalike · For you"]
    assert cold and {s.id for s in cold} <= {s["id"] for s in _songs(supysonic)}

    drones = [s for s in _songs(supysonic) if s["path"].startswith("drone/")]
    conn = supysonic.client("alice")
    try:
        assert conn.star(sids=[drones[0]["id"], drones[1]["id"]])
        assert conn.set_rating(drones[2]["id"], 5)
    finally:
        conn.cleanup()

    second = sync(settings)
    assert second["events_added"] == 3 + 3 + 2
    assert (second["playlists_created"], second["playlists_updated"]) == (0, 1)
    warm = our_playlists(supysonic)["Soundalike · For you"]
    assert [s.id for s in warm] != [s.id for s in cold]
    assert {s.id for s in warm}.isdisjoint({d["id"] for d in drones[:3]})

    third = sync(settings)
    assert (third["events_added"], third["playlists_created"], third["playlists_updated"]) == (0, 0, 0)
    assert [s.id for s in our_playlists(supysonic)["Soundalike · For you"]] == [s.id for s in warm]
    assert list(our_playlists(supysonic)) == ["Soundalike · For you"]


def _songs(server: Supysonic) -> list[dict[str, Any]]:
    return list(server.call("alice", "search3", query="", songCount="500")["searchResult3"]["song"])
