"""The web page's routes without a browser: HTML views, audio byte ranges, HTML errors and who may write."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from mutagen.flac import FLAC, Picture
from sqlalchemy import select, update

from soundalike.ingest.cover_art import Cover, track_cover
from soundalike.ingest.db.models import Genre, IngestRun, Track, TrackGenre
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.hashing import content_hash
from soundalike.ingest.repository import set_track_genre
from soundalike.recommend.api.app import create_app
from soundalike.recommend.api.auth import KEY_COOKIE
from soundalike.recommend.mix_store import refresh_mixes
from soundalike.recommend.web import actions, pages
from soundalike.recommend.web.embedding_map import unit_square

from support.audio_factory import make_track
from support.recommend_fixtures import Catalogue, bearer
from support.servers import LOOPBACK

AUDIO_TRACK = 5


@pytest.fixture
def audio_file(catalogue: Catalogue, tmp_path: Path) -> Path:
    """A real encoded file behind track ``AUDIO_TRACK``, as an ingest of its folder stored it."""
    path = make_track(tmp_path / "music" / "beat.ogg", "beat", seed=1, seconds=3.0)
    info = path.stat()
    stored = {"path": str(path), "size": info.st_size, "mtime": info.st_mtime, "content_hash": content_hash(path)}
    with session_scope(catalogue.service.factory) as session:
        session.execute(update(Track).where(Track.id == AUDIO_TRACK).values(**stored))
        session.add(IngestRun(roots=str(path.parent)))
    return path


def app_client(catalogue: Catalogue, **settings: object) -> TestClient:
    """The app serving the synthetic catalogue, as a browser on this machine reaches it."""
    return TestClient(
        create_app(catalogue.settings.model_copy(update=settings), service=catalogue.service), base_url=LOOPBACK
    )


@pytest.fixture
def client(catalogue: Catalogue) -> Iterator[TestClient]:
    with app_client(catalogue) as running:
        yield running


def key(catalogue: Catalogue, name: str, scope: str) -> str:
    """A new API key of ``scope``."""
    return bearer(catalogue, name, scope)["Authorization"].removeprefix("Bearer ")


def stored_rows(catalogue: Catalogue, track_id: int) -> set[tuple[str, str, bool]]:
    """(genre, source, rejected) of every genre row of a track."""
    with session_scope(catalogue.service.factory) as session:
        rows = session.execute(
            select(Genre.name, TrackGenre.source, TrackGenre.rejected)
            .join(Genre, Genre.id == TrackGenre.genre_id)
            .where(TrackGenre.track_id == track_id)
        )
        return {(str(g), str(s), bool(r)) for g, s, r in rows}


def track_title(catalogue: Catalogue, track_id: int) -> str:
    """The stored title of a track."""
    with session_scope(catalogue.service.factory) as session:
        return str(session.get(Track, track_id).title)  # type: ignore[union-attr]


def test_every_view_is_an_html_page(client: TestClient, catalogue: Catalogue) -> None:
    for path in ("/", "/web/tracks/40", "/web/review", "/web/listener", "/web/map", "/web/signin"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"].startswith("text/html")
        assert "<title>" in response.text
    reasons = re.findall(r'<td class="why">(.*?)</td>', client.get("/web/tracks/40").text, re.S)
    assert reasons and all(r.startswith("like <em>") and "by" in r and "seed" not in r for r in reasons)
    assert client.get("/web/static/app.js").status_code == 200
    assert client.get("/web/static/style.css").headers["content-type"].startswith("text/css")


def test_catalogue_searches_text_and_filters_and_pages(client: TestClient) -> None:
    found = client.get("/", params={"q": "TECHNO album 1"}).text
    ids = {int(i) for i in re.findall(r'data-track-id="(\d+)"', found)}
    assert ids == set(range(25, 31))
    filtered = client.get("/", params={"q": "techno", "key": "a minor", "tempo_min": "", "tempo_max": "110"}).text
    ids = {int(i) for i in re.findall(r'data-track-id="(\d+)"', filtered)}
    assert ids and all((i - 1) % 6 in (2, 4) for i in ids)  # the A-minor techno tracks; tempo up to 106
    by_genre = client.get("/", params={"genre": "folk", "page": 1}).text
    assert "18 tracks" in by_genre and "page 1 of 1" in by_genre
    first = client.get("/").text
    assert "71 tracks" in first and "page 1 of 3" in first and 'id="next"' in first
    assert len(re.findall(r'class="track"', client.get("/", params={"page": 3}).text)) == 71 - 50


def test_audio_is_served_with_byte_ranges(client: TestClient, audio_file: Path) -> None:
    data = audio_file.read_bytes()
    whole = client.get(f"/tracks/{AUDIO_TRACK}/audio")
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(f"/tracks/{AUDIO_TRACK}/audio", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert part.content == data[100:200]
    tail = client.get(f"/tracks/{AUDIO_TRACK}/audio", headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    beyond = client.get(f"/tracks/{AUDIO_TRACK}/audio", headers={"Range": f"bytes={len(data) + 10}-"})
    assert beyond.status_code == 416
    assert client.get("/tracks/7/audio").status_code == 404  # its file does not exist
    assert client.get("/tracks/3/audio").status_code == 404  # deleted


def test_page_errors_are_html_without_traces_and_api_errors_stay_json(client: TestClient) -> None:
    for path, status in (("/web/tracks/9999", 404), ("/web/nowhere", 404), ("/web/tracks/x", 422), ("/?page=0", 422)):
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert 'id="error-message"' in response.text and "Traceback" not in response.text
    assert "no track with id 9999" in client.get("/web/tracks/9999").text
    assert "tempo_min must be a number" in client.get("/", params={"tempo_min": "fast"}).text
    wording = client.get("/", params={"page": "two"}).text
    assert "the page number must be a whole number" in wording and "Input should" not in wording
    assert "the track number must be a whole number" in client.get("/web/tracks/x").text
    assert "the page number must be at least 1" in client.get("/", params={"page": 0}).text
    api = client.get("/tracks/9999")
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"
    assert client.get("/nowhere").json() == {"error": "Not Found", "type": "NotFound", "detail": "Not Found"}


def test_a_fault_on_a_page_is_a_plain_500_page(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail of the code")

    monkeypatch.setattr("soundalike.recommend.web.pages.search_tracks", broken)
    page = client.get("/")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "internal error" in page.text and "secret detail" not in page.text and "Traceback" not in page.text


def test_sign_in_keeps_the_key_in_an_http_only_strict_cookie(client: TestClient, catalogue: Catalogue) -> None:
    refused = client.post("/web/signin", data={"key": "not-a-key"}, follow_redirects=False)
    assert refused.status_code == 401 and "unknown or revoked" in refused.text
    signed = client.post("/web/signin", data={"key": key(catalogue, "ann", "read")}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"{KEY_COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "ann (read)" in client.get("/").text
    out = client.post("/web/signout", follow_redirects=False)
    assert out.status_code == 303 and f'{KEY_COOKIE}=""' in out.headers["set-cookie"]


def test_sign_in_returns_to_the_page_it_came_from_on_this_site_only(client: TestClient, catalogue: Catalogue) -> None:
    assert 'href="/web/signin?next=/web/map%3Fa%3D1"' in client.get("/web/map?a=1").text
    assert 'name="next" value="/web/map"' in client.get("/web/signin", params={"next": "/web/map"}).text
    secret = key(catalogue, "ann", "read")
    for target, landing in (("/web/review?skip=1", "/web/review?skip=1"), ("//evil.example/", "/"), ("http://x", "/")):
        signed = client.post("/web/signin", data={"key": secret, "next": target}, follow_redirects=False)
        assert signed.headers["location"] == landing


def test_small_things_a_listener_notices(client: TestClient, catalogue: Catalogue) -> None:
    last = client.get("/", params={"page": 999}).text
    assert "page 3 of 3" in last and len(re.findall(r'class="track"', last)) == 71 - 50
    catalogue_keys = re.findall(r'<option value="[^"]+" >([^<]+)</option>', client.get("/").text)
    assert catalogue_keys and all(k[0].isupper() for k in catalogue_keys)
    shown = re.search(r'<dd id="key">([^<]+)</dd>', client.get("/web/tracks/3").text)
    assert shown and shown.group(1)[0].isupper()
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg") and b"<svg" in icon.content
    assert "max-age" in icon.headers["cache-control"]
    assert client.get("/web/static/favicon.svg").status_code == 200


def test_writes_need_a_write_key_and_record_a_curator_row(client: TestClient, catalogue: Catalogue) -> None:
    form = {"genre": "jazz", "verdict": "accept", "next": "/web/review"}
    anonymous = client.post("/web/tracks/40/review", data=form)
    assert anonymous.status_code == 401 and "you need to sign in with a key that may write" in anonymous.text
    client.cookies.set(KEY_COOKIE, key(catalogue, "guest", "read"))
    read_only = client.post("/web/tracks/40/review", data=form)
    assert read_only.status_code == 403 and read_only.headers["content-type"].startswith("text/html")
    refusal = html.unescape(read_only.text)
    assert "your key 'guest' may read only; this needs a key that may write" in refusal
    assert 'id="signed-in">guest (read)' in refusal and 'id="sign-in"' not in refusal
    assert "soundalike keys" not in refusal
    assert client.post("/web/retrain").status_code == 403
    assert ("jazz", "curator", False) not in stored_rows(catalogue, 40)

    client.cookies.set(KEY_COOKIE, key(catalogue, "curator", "write"))
    accepted = client.post("/web/tracks/40/review", data=form, follow_redirects=False)
    assert accepted.status_code == 303 and accepted.headers["location"] == "/web/review"
    assert ("jazz", "curator", False) in stored_rows(catalogue, 40)
    assert "jazz" in client.get("/tracks/40").json()["genres"]  # the API reads the cookie too
    elsewhere = client.post("/web/tracks/40/review", data={**form, "next": "//evil.example/"}, follow_redirects=False)
    assert elsewhere.headers["location"] == "/web/tracks/40"
    cross_site = client.post("/web/tracks/40/review", data=form, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403 and "cross-site" in cross_site.text
    foreign_sign_in = client.post("/web/signin", data={"key": "x"}, headers={"Origin": "http://evil.example"})
    assert foreign_sign_in.status_code == 403


def test_every_page_write_refuses_an_anonymous_post(client: TestClient) -> None:
    posts = [
        route.path.replace("{track_id}", "40").replace("{decision_id}", "1")
        for route in (*pages.router.routes, *actions.router.routes)
        if isinstance(route, APIRoute) and "POST" in route.methods
    ]
    writes = [p for p in posts if p not in ("/web/signin", "/web/signout")]
    assert writes == ["/web/tracks/40/review", "/web/decisions/1/undo", "/web/genres/change", "/web/retrain"]
    for path in writes:
        response = client.post(path, data={"genre": "jazz", "verdict": "accept"})
        assert response.status_code == 401 and response.headers["content-type"].startswith("text/html"), path


def test_a_revoked_cookie_is_refused_and_forgotten(client: TestClient, catalogue: Catalogue) -> None:
    client.cookies.set(KEY_COOKIE, "revoked-or-never-made")
    page = client.get("/")
    assert page.status_code == 401 and f'{KEY_COOKIE}=""' in page.headers["set-cookie"]
    assert client.get("/tracks").status_code == 401


def test_closed_reads_send_people_to_sign_in(catalogue: Catalogue) -> None:
    with app_client(catalogue, open_reads=False) as client:
        page = client.get("/web/map")
        assert page.status_code == 401 and 'href="/web/signin?next=/web/map"' in page.text
        assert "you need to sign in" in page.text and "may write" not in page.text and "--scope" not in page.text
        assert client.get("/web/signin").status_code == 200
        client.cookies.set(KEY_COOKIE, key(catalogue, "reader", "read"))
        assert client.get("/web/map").status_code == 200


def test_review_queue_shows_the_least_confident_prediction_first(client: TestClient, catalogue: Catalogue) -> None:
    with session_scope(catalogue.service.factory) as session:
        for track_id, confidence in ((10, 0.8), (20, 0.4), (30, 0.6), (40, 0.3)):
            set_track_genre(session, track_id, "jazz", source="predicted", confidence=confidence, model_version="1")
        set_track_genre(session, 40, "folk", source="curator", confidence=1.0)  # settled: not in the queue
    page = client.get("/web/review").text
    assert 'data-track-id="20"' in page and 'id="remaining">3<' in page and 'id="reviewed">1<' in page
    assert 'data-track-id="30"' in client.get("/web/review", params={"skip": 1}).text
    passed = client.get("/web/review", params={"skip": 3}).text
    assert 'id="queue-passed"' in passed and "Nothing left" not in passed and "all 3 left" in passed


def test_listener_playlist_path_and_m3u(client: TestClient, catalogue: Catalogue) -> None:
    client.cookies.set(KEY_COOKIE, key(catalogue, "curator", "write"))
    events = [{"track_id": t, "played_at": "2025-03-01T12:00:00Z"} for t in (40, 41, 42, 43, 44)]
    played = client.post("/users/ann/events", json={"events": events})
    assert played.status_code == 201
    page = client.get("/web/listener", params={"user": "ann"}).text
    assert "<option selected>ann</option>" in page and 'id="playlist"' in page
    m3u = client.get("/web/listener/playlist.m3u", params={"user": "ann"})
    assert m3u.status_code == 200 and m3u.content.startswith(b"#EXTM3U\n#EXTINF:-1,")
    assert m3u.headers["content-disposition"] == 'attachment; filename="playlist-ann.m3u"'
    listed = [line for line in m3u.text.splitlines() if not line.startswith("#")]
    playlist = client.get("/users/ann/playlist").json()["results"]
    assert listed == [r["path"] for r in playlist]
    interests = re.findall(r'<td class="interest-name">([^<]+)</td>', page)
    assert interests and all(not name.isdigit() for name in interests)
    why = re.findall(r'<td class="why">(.*?)</td>', page, re.S)
    assert any("which you played once" in w for w in why) and not any(re.search(r"track \d", w) for w in why)
    start, end = (client.get("/web/suggest", params={"q": q}).json()[0] for q in ("techno 1-1", "jazz 2-3"))
    path = client.get("/web/listener", params={"start": start, "end": end, "steps": 5}).text
    rows = re.findall(r'class="result" data-track-id="(\d+)"', path)
    assert len(rows) == 5 and rows[0] in path and start.startswith(track_title(catalogue, int(rows[0])))
    assert end.startswith(track_title(catalogue, int(rows[-1])))
    assert client.get("/web/listener", params={"start": "no such song", "end": end}).status_code == 404
    assert client.get("/web/listener", params={"user": "nobody"}).status_code == 404


def test_map_places_every_indexed_track_with_a_link(client: TestClient) -> None:
    page = client.get("/web/map").text
    points = re.findall(r'<a href="/web/tracks/(\d+)" class="point"', page)
    assert len(points) == 71  # every ok track with an embedding (the deleted one left out)
    assert page.count('class="swatch"') == 4


def test_the_map_scales_each_axis_into_the_unit_square() -> None:
    square = unit_square(np.array([[-2.0, 3.0], [0.0, 3.0], [6.0, 3.0]]))
    np.testing.assert_allclose(square, [[0.0, 0.0], [0.25, 0.0], [1.0, 0.0]])
    assert unit_square(np.zeros((0, 2))).shape == (0, 2)


def test_a_decision_is_undone_back_to_the_prediction(client: TestClient, catalogue: Catalogue) -> None:
    with session_scope(catalogue.service.factory) as session:
        set_track_genre(session, 50, "techno", source="predicted", confidence=0.7, model_version="1")
    client.cookies.set(KEY_COOKIE, key(catalogue, "curator", "write"))
    form = {"genre": "techno", "verdict": "reject"}
    assert client.post("/web/tracks/50/review", data=form, follow_redirects=False).status_code == 303
    assert ("techno", "curator", True) in stored_rows(catalogue, 50)
    assert ("techno", "predicted", False) not in stored_rows(catalogue, 50)
    page = client.get("/web/tracks/50").text
    (decision,) = re.findall(r'action="/web/decisions/(\d+)/undo"', page)
    undone = client.post(f"/web/decisions/{decision}/undo", follow_redirects=False)
    assert undone.status_code == 303 and undone.headers["location"] == "/web/tracks/50"
    assert {r for r in stored_rows(catalogue, 50) if r[0] == "techno"} == {("techno", "predicted", False)}
    assert "techno" in client.get("/tracks/50").json()["genres"]
    assert "<em>undone</em>" in client.get("/web/tracks/50").text
    assert client.post(f"/web/decisions/{decision}/undo").status_code == 409


def test_accepted_rows_are_shown_as_accepted_without_buttons(client: TestClient, catalogue: Catalogue) -> None:
    with session_scope(catalogue.service.factory) as session:
        set_track_genre(session, 51, "techno", source="predicted", confidence=0.9, model_version="1")
    client.cookies.set(KEY_COOKIE, key(catalogue, "curator", "write"))
    client.post("/web/tracks/51/review", data={"genre": "techno", "verdict": "accept"})
    page = client.get("/web/tracks/51").text
    row = re.search(r'data-genre="techno" data-source="predicted" data-state="(\w+)">(.*?)</tr>', page, re.S)
    assert row and row.group(1) == "accepted" and "button" not in row.group(2)


def test_a_new_genre_waits_for_confirmation_and_lists_near_matches(client: TestClient, catalogue: Catalogue) -> None:
    client.cookies.set(KEY_COOKIE, key(catalogue, "curator", "write"))
    form = {"genre": "jaz", "verdict": "accept", "next": "/web/tracks/52"}
    asked = client.post("/web/tracks/52/review", data=form, follow_redirects=False)
    assert asked.status_code == 200 and 'id="confirm-genre"' in asked.text
    assert re.findall(r'<button type="submit" class="near-match">Use “(\w+)”', asked.text) == ["jazz"]
    assert ("jaz", "curator", False) not in stored_rows(catalogue, 52)
    confirmed = client.post("/web/tracks/52/review", data={**form, "confirm": "true"}, follow_redirects=False)
    assert confirmed.status_code == 303 and ("jaz", "curator", False) in stored_rows(catalogue, 52)


def test_the_catalogue_shows_each_genres_source_and_weak_predictions_as_suggestions(
    client: TestClient, catalogue: Catalogue
) -> None:
    with session_scope(catalogue.service.factory) as session:
        set_track_genre(session, 1, "jazz", source="predicted", confidence=0.2, model_version="1")
        set_track_genre(session, 2, "jazz", source="predicted", confidence=0.9, model_version="1")
    page = client.get("/", params={"q": "ambient 0-"}).text
    cells = dict(re.findall(r'data-track-id="(\d+)">.*?<td class="genres">(.*?)</td>', page, re.S))
    assert 'data-kind="suggestion">maybe jazz' in cells["1"] and "suggested 20 %" in cells["1"]
    assert 'data-kind="predicted">jazz' in cells["2"] and "predicted 90 %" in cells["2"]
    assert 'data-kind="label">ambient' in cells["2"] or 'data-kind="tag">ambient' in cells["2"]


def test_cover_art_comes_from_the_folder_or_the_file_and_is_cached(
    client: TestClient, catalogue: Catalogue, audio_file: Path
) -> None:
    assert client.get(f"/tracks/{AUDIO_TRACK}/cover").status_code == 404
    image = audio_file.parent / "Cover.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 32)
    found = client.get(f"/tracks/{AUDIO_TRACK}/cover")
    assert found.status_code == 200 and found.content == image.read_bytes()
    assert found.headers["content-type"] == "image/png" and "max-age" in found.headers["cache-control"]
    again = client.get(f"/tracks/{AUDIO_TRACK}/cover", headers={"If-None-Match": found.headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_a_picture_embedded_in_a_flac_file_is_its_cover(tmp_path: Path) -> None:
    path = make_track(tmp_path / "a" / "one.flac", "drone", seed=2, seconds=1.0)
    picture = Picture()
    picture.data, picture.mime, picture.type = b"\xff\xd8\xff-jpeg-bytes", "image/jpeg", 3
    flac = FLAC(path)
    flac.add_picture(picture)
    flac.save()
    assert track_cover(path) == Cover(b"\xff\xd8\xff-jpeg-bytes", "image/jpeg")
    assert track_cover(make_track(tmp_path / "b" / "two.ogg", "drone", seed=3, seconds=1.0)) is None


def test_the_mixes_page_lists_stored_mixes_to_play(client: TestClient, catalogue: Catalogue) -> None:
    assert 'id="no-mixes"' in client.get("/web/mixes").text
    with session_scope(catalogue.service.factory) as session:
        refresh_mixes(session, catalogue.service.index.meta.model_name)
    page = client.get("/web/mixes").text
    assert re.findall(r'class="play-mix" data-mix-id="(\d+)"', page)


def genre_names(catalogue: Catalogue) -> set[str]:
    """Every stored genre name."""
    with session_scope(catalogue.service.factory) as session:
        return set(session.scalars(select(Genre.name)))


def test_genres_are_renamed_merged_and_deleted_after_a_preview(client: TestClient, catalogue: Catalogue) -> None:
    client.cookies.set(KEY_COOKIE, key(catalogue, "curator", "write"))
    assert 'data-genre="jazz"' in client.get("/web/genres").text
    jazz_tracks = {t for t in range(1, 73) if ("jazz", "tag", False) in stored_rows(catalogue, t)}
    preview = client.post("/web/genres/change", data={"genre": "jazz", "action": "rename", "into": "Jazz Fusion"})
    assert preview.status_code == 200 and 'id="confirm-change"' in preview.text
    assert f"renames &#39;jazz&#39; into &#39;Jazz Fusion&#39; on {len(jazz_tracks)} tracks" in preview.text
    assert "jazz" in genre_names(catalogue)
    form = {"genre": "jazz", "action": "rename", "into": "Jazz Fusion", "confirm": "true"}
    assert client.post("/web/genres/change", data=form, follow_redirects=False).status_code == 303
    assert "Jazz Fusion" in genre_names(catalogue) and "jazz" not in genre_names(catalogue)
    assert "Jazz Fusion" in client.get(f"/tracks/{min(jazz_tracks)}").json()["genres"]

    merge = {"genre": "Jazz Fusion", "action": "rename", "into": "folk"}
    assert "merges &#39;Jazz Fusion&#39; into &#39;folk&#39;" in client.post("/web/genres/change", data=merge).text
    client.post("/web/genres/change", data={**merge, "confirm": "true"})
    assert "Jazz Fusion" not in genre_names(catalogue)
    assert all(("folk", "tag", False) in stored_rows(catalogue, t) for t in jazz_tracks)

    delete = {"genre": "folk", "action": "delete"}
    assert "deletes &#39;folk&#39;" in client.post("/web/genres/change", data=delete).text
    client.post("/web/genres/change", data={**delete, "confirm": "true"})
    assert (
        "folk" not in genre_names(catalogue)
        and "folk" not in client.get(f"/tracks/{min(jazz_tracks)}").json()["genres"]
    )
    client.cookies.set(KEY_COOKIE, key(catalogue, "guest", "read"))
    assert client.post("/web/genres/change", data={"genre": "techno", "action": "delete"}).status_code == 403
