"""The Subsonic routes in process: GET and form POST, XML and JSON, Subsonic auth and error codes, media server ids."""

from __future__ import annotations

import dataclasses
import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update

from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.errors import ConfigError
from soundalike.recommend.api.app import create_app
from soundalike.recommend.api_keys import create_key, set_subsonic_password
from soundalike.recommend.media_server import PathMap

from support.recommend_fixtures import Catalogue
from support.servers import in_process

XMLNS = {"s": "http://subsonic.org/restapi"}
MBID = "0d5e3c6a-7f1b-4a2e-9c3d-1b2a3c4d5e6f"
Call = Callable[..., dict[str, Any]]


def caller(catalogue: Catalogue, *, host: str = "127.0.0.1", **settings: object) -> Callable[..., httpx.Response]:
    """A request function against the app in process (as the client ``192.0.2.7``), its service on ``settings``."""
    changed = catalogue.settings.model_copy(update=settings)
    service = dataclasses.replace(catalogue.service, settings=changed)
    app = create_app(changed, service=service, host=host)
    app.state.service = service
    return in_process(app)


def subsonic(request: Callable[..., httpx.Response]) -> Call:
    """A JSON call of a Subsonic endpoint by GET: its ``subsonic-response`` (always HTTP 200)."""

    def call(endpoint: str, **params: object) -> dict[str, Any]:
        response = request("GET", f"/rest/{endpoint}", params={"f": "json", **params})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()["subsonic-response"]
        return body

    return call


def code(body: dict[str, Any]) -> int | None:
    return body["error"]["code"] if body["status"] == "failed" else None


def keys(catalogue: Catalogue) -> tuple[str, str]:
    """A read key and the Subsonic password of the key ``ann``."""
    with session_scope(catalogue.service.factory) as session:
        key = create_key(session, "ann", "read")
        return key, set_subsonic_password(session, "ann")


def token(password: str, salt: str = "c19b2d") -> dict[str, str]:
    return {"u": "ann", "t": hashlib.md5((password + salt).encode()).hexdigest(), "s": salt}


@pytest.mark.parametrize("endpoint", ["ping", "getLicense", "getOpenSubsonicExtensions", "getSonicSimilarTracks"])
def test_every_endpoint_answers_get_and_form_post_with_and_without_view(catalogue: Catalogue, endpoint: str) -> None:
    request = caller(catalogue)
    key, _ = keys(catalogue)
    params = {"apiKey": key, "id": "40", "count": "3", "v": "1.16.1", "c": "test"}
    bodies = []
    for suffix in ("", ".view"):
        path = f"/rest/{endpoint}{suffix}"
        bodies.append(request("GET", path, params={**params, "f": "json"}).json())
        bodies.append(request("POST", path, data={**params, "f": "json"}).json())
        xml = request("POST", path, data=params)
        assert xml.headers["content-type"].startswith("application/xml")
        assert ET.fromstring(xml.content).get("status") == "ok"
    assert all(b["subsonic-response"]["status"] == "ok" for b in bodies)
    assert all(b == bodies[0] for b in bodies), bodies


def test_ping_and_license_need_credentials_off_loopback_and_extensions_stay_public(catalogue: Catalogue) -> None:
    call = subsonic(caller(catalogue, host="0.0.0.0", admin_token=SecretStr("operator-token")))
    key, password = keys(catalogue)
    assert code(call("ping")) == 10 and code(call("getLicense")) == 10
    assert code(call("ping", apiKey="operator-token")) is None
    assert code(call("getSonicSimilarTracks", id=40)) == 10
    assert code(call("ping", apiKey=key)) is None and code(call("ping", **token(password))) is None
    extensions = call("getOpenSubsonicExtensions")["openSubsonicExtensions"]
    assert {"name": "apiKeyAuthentication", "versions": [1]} in extensions
    assert call("getLicense", apiKey=key)["license"]["valid"] is True


def test_credentials_that_are_given_are_checked_even_where_anonymous_reads_are_allowed(catalogue: Catalogue) -> None:
    call = subsonic(caller(catalogue))
    key, password = keys(catalogue)
    assert code(call("ping")) is None
    assert code(call("ping", apiKey=key + "x")) == 44
    assert code(call("ping", **token(password + "x"))) == 40
    assert code(call("ping", **{**token(password), "u": "bob"})) == 40
    assert code(call("ping", u="ann", p=password)) == 42
    assert code(call("ping", apiKey=key, **token(password))) == 43
    assert code(call("ping", u="ann", t="0" * 32)) == 10
    assert code(call("getSonicSimilarTracks", id=40, apiKey="sk_wrong")) == 44


def test_a_key_without_a_subsonic_password_cannot_use_token_auth_and_a_new_password_replaces_the_old(
    catalogue: Catalogue,
) -> None:
    call = subsonic(caller(catalogue, host="0.0.0.0"))
    with session_scope(catalogue.service.factory) as session:
        create_key(session, "bob", "read")
    assert code(call("ping", **{**token(""), "u": "bob"})) == 40
    _, first = keys(catalogue)
    with session_scope(catalogue.service.factory) as session:
        second = set_subsonic_password(session, "ann")
    assert code(call("ping", **token(first))) == 40 and code(call("ping", **token(second))) is None


def test_missing_and_unknown_songs_get_codes_10_and_70(catalogue: Catalogue) -> None:
    call = subsonic(caller(catalogue))
    assert code(call("getSonicSimilarTracks")) == 10
    assert code(call("findSonicPath", startSongId=4)) == 10
    assert code(call("getSonicSimilarTracks", id=999999)) == 70
    assert code(call("getSonicSimilarTracks", id=2**40)) == 70
    assert code(call("getSonicSimilarTracks", id=MBID)) == 70
    assert code(call("getSonicSimilarTracks", id="/music/none.flac")) == 70
    assert code(call("getSonicSimilarTracks", id=40, count="many")) == 0


def mapped(catalogue: Catalogue) -> Call:
    """Calls against a catalogue whose files a media server sees under ``/navidrome/library``, track 40 and its
    duplicate copy 41 tagged with a MusicBrainz recording id, track 40 five minutes long."""
    with session_scope(catalogue.service.factory) as session:
        session.execute(update(Track).where(Track.id.in_([40, 41])).values(musicbrainz_track_id=MBID))
        session.execute(update(Track).where(Track.id == 41).values(duplicate_of_id=40))
        session.execute(update(Track).where(Track.id == 40).values(duration=301.4))
    return subsonic(caller(catalogue, subsonic_path_map="/elsewhere=/other:/music=/navidrome/library"))


def test_a_song_is_found_by_musicbrainz_recording_id_or_by_the_media_servers_path(catalogue: Catalogue) -> None:
    call = mapped(catalogue)
    path_of_40 = "/music/folk/0/3.flac"
    assert catalogue.genre_of[40] == "folk"
    by_id = call("getSonicSimilarTracks", id=40, count=4)["sonicMatch"]
    server_path = "/navidrome/library/folk/0/3.flac"
    for song in (MBID, MBID.upper(), server_path, "folk/0/3.flac", "./folk/0/3.flac", path_of_40):
        assert call("getSonicSimilarTracks", id=song, count=4)["sonicMatch"] == by_id, song
    route = call("findSonicPath", startSongId=MBID, endSongId="techno/2/1.flac", count=5)["sonicMatch"]
    assert [m["entry"]["id"] for m in route][:: len(route) - 1] == ["40", "32"]
    assert code(call("getSonicSimilarTracks", id="/other/folk/0/3.flac")) == 70
    assert code(call("getSonicSimilarTracks", id="/navidrome/library/folk/0/3.flac.bak")) == 70
    with session_scope(catalogue.service.factory) as session:
        session.execute(update(Track).where(Track.id == 40).values(status="deleted"))
    assert code(call("getSonicSimilarTracks", id="folk/0/3.flac")) == 70


def test_entries_carry_what_a_client_shows_with_the_media_servers_path(catalogue: Catalogue) -> None:
    call = mapped(catalogue)
    route = call("findSonicPath", startSongId=40, endSongId=70, count=3)["sonicMatch"]
    first = route[0]["entry"]
    assert first == {
        "id": "40",
        "isDir": False,
        "isVideo": False,
        "type": "music",
        "title": "folk 0-3",
        "artist": "folk artist 0",
        "album": "folk album 0",
        "year": 2010,
        "genre": "folk",
        "bpm": 133,
        "duration": 301,
        "musicBrainzId": MBID,
        "path": "/navidrome/library/folk/0/3.flac",
        "suffix": "flac",
    }
    last = route[-1]["entry"]
    assert "duration" not in last and "musicBrainzId" not in last
    assert last["path"].startswith("/navidrome/library/") and route[0]["similarity"] == pytest.approx(1.0, abs=1e-4)


def test_a_malformed_path_map_is_refused_at_start() -> None:
    assert PathMap.parse("/srv/music=/music/:/a=/b").pairs == (("/srv/music", "/music"), ("/a", "/b"))
    assert PathMap.parse(" ").pairs == ()
    for bad in ("/srv/music", "music=/music", "/srv/music=music"):
        with pytest.raises(ConfigError, match="SOUNDALIKE_SUBSONIC_PATH_MAP"):
            PathMap.parse(bad)


def test_the_reverse_proxy_recipes_empty_parameters_fall_back_to_the_defaults(catalogue: Catalogue) -> None:
    request = caller(catalogue)
    key, _ = keys(catalogue)
    empty = {"startSongId": "", "endSongId": "", "count": "", "f": "", "apiKey": key}
    response = request("GET", "/rest/getSonicSimilarTracks.view", params={**empty, "id": "40"})
    root = ET.fromstring(response.content)
    assert root.get("status") == "ok" and len(root.findall("s:sonicMatch", XMLNS)) == 10


def test_sonic_similar_tracks_keep_only_the_named_moods_and_an_unknown_mood_is_an_error(catalogue: Catalogue) -> None:
    call = subsonic(caller(catalogue))
    plain = call("getSonicSimilarTracks", id=40, count=10)["sonicMatch"]
    assert {catalogue.genre_of[int(m["entry"]["id"])] for m in plain} == {catalogue.genre_of[40]}
    folk = call("getSonicSimilarTracks", id=40, count=10, mood="acoustic,guitar")["sonicMatch"]
    assert folk and {catalogue.genre_of[int(m["entry"]["id"])] for m in folk} == {"folk"}
    unknown = call("getSonicSimilarTracks", id=40, mood="sparkly")
    assert code(unknown) == 0 and "sparkly" in unknown["error"]["message"]


def test_search3_ranks_songs_by_mood_words_and_matches_other_words_in_titles(catalogue: Catalogue) -> None:
    call = subsonic(caller(catalogue))
    mellow = call("search3", query="mellow chillout", songCount=6)["searchResult3"]
    assert len(mellow["song"]) == 6 and {catalogue.genre_of[int(s["id"])] for s in mellow["song"]} == {"ambient"}
    assert mellow["artist"] == [] and mellow["album"] == []
    album = call("search3", query="jazz album 1", songCount=50)["searchResult3"]["song"]
    assert album and all(s["album"] == "jazz album 1" for s in album)
    filtered = call("search3", query="album", songCount=50, mood="dance")["searchResult3"]["song"]
    assert filtered and {catalogue.genre_of[int(s["id"])] for s in filtered} == {"techno"}
    assert code(call("search3", query="mellow", songCount="lots")) == 0
