"""A real OpenSubsonic client library (py-opensonic, default settings) against ``soundalike serve`` on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import libopensonic
import pytest
from libopensonic.errors import CredentialError, SonicError

from soundalike.recommend.api.app import create_app

from support.cli_runner import run_cli
from support.recommend_fixtures import Catalogue
from support.servers import running


@contextmanager
def serving(catalogue: Catalogue) -> Iterator[int]:
    """``soundalike serve`` on loopback with anonymous reads off, so every call must sign in; yields the port."""
    app = create_app(catalogue.settings.model_copy(update={"open_reads": False}), service=catalogue.service)
    with running(app) as port:
        yield port


@contextmanager
def connection(port: int, **credentials: str | bool) -> Iterator[libopensonic.Connection]:
    """A py-opensonic connection with its defaults (POST, ``.view``, token auth) apart from address and credentials."""
    conn = libopensonic.Connection("http://127.0.0.1", port=port, **credentials)
    try:
        yield conn
    finally:
        conn.cleanup()


@pytest.fixture
def port(catalogue: Catalogue) -> Iterator[int]:
    with serving(catalogue) as running:
        yield running


@pytest.mark.parametrize("use_get", [False, True], ids=["post", "get"])
@pytest.mark.parametrize("auth", ["api_key", "token"])
def test_client_gets_similar_tracks_and_a_sonic_path(catalogue: Catalogue, port: int, use_get: bool, auth: str) -> None:
    key = run_cli(catalogue.settings, "keys", "create", "player")["key"]
    if auth == "api_key":
        credentials: dict[str, str | bool] = {"api_key": key}
    else:
        password = run_cli(catalogue.settings, "keys", "subsonic-user", "player")["password"]
        credentials = {"username": "player", "password": password}
    if use_get:
        credentials["use_get"] = True
    with connection(port, **credentials) as conn:
        assert conn.ping() is True
        extensions = {e.name: e.versions for e in conn.get_open_subsonic_extensions()}
        assert extensions["sonicSimilarity"] == [1] and extensions["apiKeyAuthentication"] == [1]
        assert conn.get_license()["license"]["valid"] is True

        matches = conn.get_sonic_similar_tracks("40", count=5)
        assert len(matches) == 5
        ids = [int(m.entry.id) for m in matches]
        assert 40 not in ids and {catalogue.album_of[i] for i in ids} == {catalogue.album_of[40]}
        assert all(m.entry.title and m.entry.artist and m.entry.album and m.entry.path for m in matches)
        sims = [m.similarity for m in matches]
        assert sims == sorted(sims, reverse=True) and all(0.0 <= s <= 1.0 for s in sims)

        path = conn.find_sonic_path("4", "70", count=6)
        assert [m.entry.id for m in path][:: len(path) - 1] == ["4", "70"] and len(path) == 6


def test_client_with_a_wrong_credential_is_refused(catalogue: Catalogue, port: int) -> None:
    key = run_cli(catalogue.settings, "keys", "create", "player")["key"]
    run_cli(catalogue.settings, "keys", "create", "reader")
    password = run_cli(catalogue.settings, "keys", "subsonic-user", "player")["password"]
    listed = {k["name"]: k["subsonic_user"] for k in run_cli(catalogue.settings, "keys", "list")["keys"]}
    assert listed == {"player": True, "reader": False}
    with connection(port, username="player", password=password + "x") as conn, pytest.raises(CredentialError):
        conn.ping()
    with connection(port, username="nobody", password=password) as conn, pytest.raises(CredentialError):
        conn.get_sonic_similar_tracks("40")
    with connection(port, api_key=key + "x") as conn, pytest.raises(SonicError, match="apiKey"):
        conn.find_sonic_path("4", "70")
    run_cli(catalogue.settings, "keys", "revoke", "player")
    with connection(port, username="player", password=password) as conn, pytest.raises(CredentialError):
        conn.ping()
    with connection(port, api_key=key) as conn, pytest.raises(SonicError, match="apiKey"):
        conn.ping()


def test_client_instant_mix_plays_the_seed_style_without_repeats(catalogue: Catalogue, port: int) -> None:
    key = run_cli(catalogue.settings, "keys", "create", "player")["key"]
    with connection(port, api_key=key) as conn:
        mix = conn.get_similar_songs2("40", count=8)
        older = conn.get_similar_songs("40", count=8)
        with pytest.raises(SonicError):
            conn.get_similar_songs2("999999")
    ids = [int(song.id) for song in mix]
    assert len(ids) == 8 == len(set(ids)) and 40 not in ids
    assert [int(song.id) for song in older] == ids
    assert {catalogue.genre_of[i] for i in ids} == {catalogue.genre_of[40]}
    assert all(song.title and song.artist and song.album and song.path for song in mix)
    assert all(a.artist != b.artist for a, b in zip(mix, mix[1:], strict=False))


def test_client_search_finds_songs_by_mood_words(catalogue: Catalogue, port: int) -> None:
    key = run_cli(catalogue.settings, "keys", "create", "player")["key"]
    with connection(port, api_key=key) as conn:
        found = conn.search3("acoustic guitar", artist_count=0, album_count=0, song_count=5)
    songs = found.song or []
    assert len(songs) == 5 and {catalogue.genre_of[int(s.id)] for s in songs} == {"folk"}
