"""The radio on the synthetic catalogue: steering by skips, no repeats, spacing, sessions that survive a restart,
the HTTP routes and their refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sqlalchemy import select

from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.db.models import ListeningEvent, User
from soundalike.ingest.db.session import session_scope
from soundalike.ingest.errors import InputError, NotFoundError
from soundalike.recommend.api.app import create_app
from soundalike.recommend.radio import ALBUM_GAP, ARTIST_GAP, Steering, pick, relevance, skip_weight
from soundalike.recommend.radio_sessions import next_tracks, record_feedback, start_radio
from soundalike.recommend.ranking import NEAR_DUPLICATE_COSINE, Candidate
from soundalike.recommend.service import Service

from support.cli_runner import cli_failure, run_cli
from support.recommend_fixtures import Catalogue, bearer
from support.servers import in_process

AMBIENT_SEED, TECHNO_SEED = 7, 25


def test_an_early_skip_weighs_more_than_one_near_the_end() -> None:
    assert skip_weight(10.0, 200.0) > skip_weight(150.0, 200.0) > skip_weight(199.0, 200.0) >= 0.0
    assert skip_weight(0.0, 200.0) == 1.0 and skip_weight(300.0, 200.0) == 0.0
    assert skip_weight(30.0, None) == 1.0


def test_relevance_drops_near_a_skipped_track_by_the_skip_weight() -> None:
    vectors = np.eye(3, dtype=np.float32)
    positives = np.array([[0.7, 0.7, 0.0]], dtype=np.float32)
    plain = relevance(vectors, positives, np.zeros((0, 3)), np.zeros(0))
    full = relevance(vectors, positives, vectors[:1], np.array([1.0]))
    light = relevance(vectors, positives, vectors[:1], np.array([0.1]))
    assert plain[0] == pytest.approx(plain[1]) and full[0] < light[0] < plain[0]
    assert full[1] == pytest.approx(plain[1])


def test_the_latest_plays_and_the_seeds_are_the_positives() -> None:
    state = Steering(seeds=[1, 2], played=list(range(10, 100)))
    positives = state.positives()
    assert positives[:2] == [1, 2] and positives[-1] == 99 and len(positives) == 32


def test_skips_of_one_style_steer_the_next_picks_to_the_other(catalogue: Catalogue) -> None:
    index = catalogue.service.index
    with session_scope(catalogue.service.factory) as session:
        radio, first = start_radio(session, index, seeds=[AMBIENT_SEED, TECHNO_SEED], user=None, n=4)
        styles = {catalogue.genre_of[r.track_id] for r in first}
        assert styles == {"ambient", "techno"}
        for r in first:
            skipped = catalogue.genre_of[r.track_id] == "ambient"
            record_feedback(session, radio, r.track_id, "skipped" if skipped else "played", 1.0 if skipped else 200.0)
        after = next_tracks(session, index, radio, 6)
    assert [catalogue.genre_of[r.track_id] for r in after] == ["techno"] * 6
    assert all(r.why is not None and r.why.basis in ("like seed", "like played track") for r in after)


def test_a_radio_never_repeats_a_track_or_its_duplicate_and_spaces_artists_and_albums(catalogue: Catalogue) -> None:
    index = catalogue.service.index
    with session_scope(catalogue.service.factory) as session:
        radio, served = start_radio(session, index, seeds=[5], user=None, n=3)
        for _ in range(6):
            served += next_tracks(session, index, radio, 3)
        rest = []
        while batch := next_tracks(session, index, radio, 10):
            rest += batch
    ids = [r.track_id for r in served + rest]
    assert len(ids) == len(set(ids)) and 5 not in ids and catalogue.deleted not in ids
    assert not set(catalogue.duplicate) <= set(ids)
    vectors = catalogue.service.index.vectors(range(1, 73))
    never = set(vectors) - set(ids) - {5, catalogue.deleted}
    assert all(
        max(float(vectors[t] @ vectors[s] / np.linalg.norm(vectors[t]) / np.linalg.norm(vectors[s])) for s in ids)
        >= NEAR_DUPLICATE_COSINE
        for t in never
    )
    assert len(ids) >= 60
    assert all(a.artist != b.artist and a.album != b.album for a, b in zip(served, served[1:], strict=False))


def test_spacing_keeps_artists_and_albums_apart_among_equally_good_tracks() -> None:
    rng = np.random.default_rng(0)
    vectors = unit_rows(rng.standard_normal((24, 8)))
    candidates = [Candidate(i + 1, 0.9, artist=f"artist {i % 8 // 2}", album=f"album {i % 8}") for i in range(24)]
    picked = pick(candidates, vectors, 12, recent=[("artist 0", "album 0")], before=vectors[:0], taken=())
    artists = ["artist 0", *(candidates[p].artist for p in picked)]
    albums = ["album 0", *(candidates[p].album for p in picked)]
    assert all(artists[i] not in artists[max(0, i - ARTIST_GAP) : i] for i in range(1, len(artists)))
    assert all(albums[i] not in albums[max(0, i - ALBUM_GAP) : i] for i in range(1, len(albums)))
    assert len(set(picked)) == 12


def test_a_session_resumes_after_a_restart(catalogue: Catalogue) -> None:
    with session_scope(catalogue.service.factory) as session:
        radio, first = start_radio(session, catalogue.service.index, seeds=[AMBIENT_SEED], user=None, n=5)
        record_feedback(session, radio, first[0].track_id, "skipped", 0.0)
    restarted = Service.open(catalogue.settings, device=torch.device("cpu"))
    with session_scope(restarted.factory) as session:
        later = next_tracks(session, restarted.index, radio, 5)
        with pytest.raises(InputError, match="has not served"):
            record_feedback(session, radio, AMBIENT_SEED, "played", 10.0)
        with pytest.raises(NotFoundError):
            next_tracks(session, restarted.index, "nope", 1)
    assert not {r.track_id for r in first} & {r.track_id for r in later}


def test_a_listener_radio_records_feedback_as_listening_events(catalogue: Catalogue) -> None:
    index = catalogue.service.index
    with session_scope(catalogue.service.factory) as session:
        radio, first = start_radio(session, index, seeds=[TECHNO_SEED], user="ann", n=2)
        record_feedback(session, radio, first[0].track_id, "skipped", 3.0)
        record_feedback(session, radio, first[1].track_id, "played", 240.0)
    with session_scope(catalogue.service.factory) as session:
        user = session.scalars(select(User).where(User.name == "ann")).one()
        events = session.execute(
            select(ListeningEvent.track_id, ListeningEvent.skipped, ListeningEvent.ms_played).where(
                ListeningEvent.user_id == user.id
            )
        ).all()
        assert sorted(events) == sorted([(first[0].track_id, True, 3000), (first[1].track_id, False, 240_000)])
        again, tracks = start_radio(session, index, seeds=[], user="ann", n=3)
    assert again != radio and first[0].track_id not in {t.track_id for t in tracks}


def test_radio_over_http_answers_the_documented_shapes_and_refuses_bad_input(catalogue: Catalogue) -> None:
    app = create_app(catalogue.settings, service=catalogue.service)
    app.state.service = catalogue.service
    request = in_process(app)
    writer, reader = bearer(catalogue, "writer", "write"), bearer(catalogue, "reader", "read")
    refused = request("POST", "/radio", json={"seeds": [TECHNO_SEED]}, headers=reader)
    assert refused.status_code == 403
    started = request("POST", "/radio", json={"seeds": [TECHNO_SEED], "user": "bob", "n": 3}, headers=writer)
    assert started.status_code == 201, started.text
    body = started.json()
    radio, tracks = body["session"], body["tracks"]
    assert len(tracks) == 3 and all(t["why"]["text"] for t in tracks)
    following = request("GET", f"/radio/{radio}/next?n=2", headers=reader)
    assert following.status_code == 200 and len(following.json()["tracks"]) == 2
    assert not {t["track_id"] for t in tracks} & {t["track_id"] for t in following.json()["tracks"]}
    feedback = {"track_id": tracks[0]["track_id"], "event": "skipped", "position_s": 1.5}
    assert request("POST", f"/radio/{radio}/feedback", json=feedback).status_code == 401
    stored = request("POST", f"/radio/{radio}/feedback", json=feedback, headers=writer)
    assert stored.status_code == 200 and stored.json()["recorded_for"] == "bob"
    for path, method, payload, status in [
        ("/radio/unknown/next", "GET", None, 404),
        ("/radio/unknown/feedback", "POST", feedback, 404),
        (f"/radio/{radio}/feedback", "POST", {**feedback, "track_id": 70}, 422),
        (f"/radio/{radio}/feedback", "POST", {**feedback, "event": "loved"}, 422),
        (f"/radio/{radio}/feedback", "POST", {**feedback, "position_s": -1}, 422),
        ("/radio", "POST", {"seeds": [999_999]}, 404),
        ("/radio", "POST", {"seeds": [2**64]}, 422),
        ("/radio", "POST", {"seeds": [0]}, 422),
        ("/radio", "POST", {"seeds": []}, 422),
        ("/radio", "POST", {"seeds": [], "user": "nobody"}, 404),
    ]:
        response = request(method, path, json=payload, headers=writer)
        assert response.status_code == status, (path, payload, response.text)
        assert response.headers["content-type"].startswith("application/json")


def test_radio_from_the_terminal_starts_continues_and_takes_feedback(catalogue: Catalogue) -> None:
    started = run_cli(catalogue.settings, "radio", "start", "--seed", str(TECHNO_SEED), "-n", "3")
    radio, first = started["session"], [t["track_id"] for t in started["tracks"]]
    later = [t["track_id"] for t in run_cli(catalogue.settings, "radio", "next", radio, "-n", "2")["tracks"]]
    assert len(first) == 3 and len(later) == 2 and not set(first) & set(later)
    stored = run_cli(catalogue.settings, "radio", "feedback", radio, str(first[0]), "skipped", "--position", "2")
    assert stored["event"] == "skipped" and stored["weight"] == 1.0
    refused = cli_failure(catalogue.settings, "radio", "feedback", radio, "70", "played", "--position", "2")
    assert refused["type"] == "InputError"
