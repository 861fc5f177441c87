"""Curator review: accepted genres become labels, rejected ones are never trained on nor predicted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.embed.genre_head import labelled_tracks, predict_genres, train_genre_head
from soundalike.embed.genres import list_track_genres
from soundalike.embed.review import genre_history, review_genre, review_queue, suggestion_count, undo_decision
from soundalike.embed.store import put_embeddings
from soundalike.ingest.db.models import Track, TrackGenre
from soundalike.ingest.errors import NotFoundError, PreconditionError
from soundalike.ingest.repository import set_track_genre
from soundalike.ingest.settings import Settings

MODEL = "mfcc-stats"
DIM = 8


def add_catalogue(session: Session, n_per_style: int = 8) -> dict[str, list[int]]:
    """Two well-separated embedding clusters, drone and beat, four albums each, half labelled."""
    rng = np.random.default_rng(0)
    centres = {"drone": np.eye(DIM)[0] * 3, "beat": np.eye(DIM)[1] * 3}
    ids: dict[str, list[int]] = {"drone": [], "beat": []}
    vectors = []
    for style, centre in centres.items():
        for i in range(n_per_style):
            track = Track(path=f"/music/{style}_{i}.wav", size=1, mtime=0.0, album=f"{style} {i % 4}", status="ok")
            session.add(track)
            session.flush()
            ids[style].append(track.id)
            vectors.append(centre + 0.3 * rng.standard_normal(DIM))
    all_ids = np.array(ids["drone"] + ids["beat"], dtype=np.int64)
    put_embeddings(session, MODEL, "1", all_ids, np.asarray(vectors, dtype=np.float32))
    for style in ids:
        for track_id in ids[style][: n_per_style // 2]:
            set_track_genre(session, track_id, style, source="label")
    session.flush()
    return ids


def test_accepted_curator_genre_becomes_a_training_label(session: Session) -> None:
    ids = add_catalogue(session)
    unlabelled = ids["drone"][-1]
    before = set(labelled_tracks(session, MODEL).track_ids.tolist())
    review_genre(session, unlabelled, "drone", accept=True)
    found = labelled_tracks(session, MODEL)
    labelled, genres = found.track_ids, found.genres
    assert unlabelled not in before
    assert dict(zip(labelled.tolist(), genres, strict=True))[unlabelled] == "drone"


def test_curator_label_outranks_a_tag_of_another_genre(session: Session) -> None:
    ids = add_catalogue(session)
    track_id = ids["beat"][-1]
    set_track_genre(session, track_id, "drone", source="tag")
    review_genre(session, track_id, "beat", accept=True)
    found = labelled_tracks(session, MODEL)
    labelled, genres = found.track_ids, found.genres
    assert dict(zip(labelled.tolist(), genres, strict=True))[track_id] == "beat"


def test_rejected_genre_is_never_a_training_label(session: Session) -> None:
    ids = add_catalogue(session)
    labelled_drone = ids["drone"][0]
    review_genre(session, labelled_drone, "drone", accept=False)
    found = labelled_tracks(session, MODEL)
    labelled, genres = found.track_ids, found.genres
    assert labelled_drone not in labelled.tolist()
    set_track_genre(session, labelled_drone, "drone", source="tag")
    set_track_genre(session, labelled_drone, "beat", source="tag")
    found = labelled_tracks(session, MODEL)
    labelled, genres = found.track_ids, found.genres
    assert dict(zip(labelled.tolist(), genres, strict=True))[labelled_drone] == "beat"


def test_training_skips_rejected_labels(session: Session, tmp_path: Path) -> None:
    ids = add_catalogue(session)
    for track_id in ids["drone"][:2]:
        review_genre(session, track_id, "drone", accept=False)
    meta = train_genre_head(session, tmp_path, model_name=MODEL)
    assert meta.n_train + meta.n_test == 8 - 2


def test_reject_with_an_unconfident_runner_up_leaves_no_genre_and_a_suggestion_to_review(
    session: Session, tmp_path: Path
) -> None:
    ids = add_catalogue(session)
    train_genre_head(session, tmp_path, model_name=MODEL)
    target = ids["drone"][-1]
    review_genre(session, target, "drone", accept=False)
    predicted = predict_genres(session, tmp_path)
    rows = list_track_genres(session, source="predicted")
    by_track = {r["track_id"]: r for r in rows}
    assert predicted == len(rows) == 7
    assert target not in by_track  # the model still thinks drone: beat is far below its confidence threshold
    suggested = [r for r in list_track_genres(session, every=True) if r["source"] == "suggested"]
    assert [(r["track_id"], r["genre"]) for r in suggested] == [(target, "beat")]
    assert review_queue(session, offset=0, limit=20)[1][0][:2] == (target, "beat")
    assert suggestion_count(session) == 1
    assert by_track[ids["drone"][-2]]["genre"] == "drone"
    labelled = set(ids["drone"][:4] + ids["beat"][:4])
    assert not labelled & set(by_track)
    kept = session.scalars(select(TrackGenre).where(TrackGenre.source == "label")).all()
    assert len(kept) == 8 and all(r.confidence is None and r.model_version is None for r in kept)


def test_rejecting_every_class_leaves_the_track_untagged(session: Session, tmp_path: Path) -> None:
    ids = add_catalogue(session)
    train_genre_head(session, tmp_path, model_name=MODEL)
    target = ids["beat"][-1]
    predict_genres(session, tmp_path)
    review_genre(session, target, "beat", accept=False)
    assert target not in {r["track_id"] for r in list_track_genres(session, source="predicted")}
    review_genre(session, target, "drone", accept=False)
    predict_genres(session, tmp_path)
    assert target not in {r["track_id"] for r in list_track_genres(session, source="predicted")}


def test_a_later_accept_lifts_an_earlier_reject(session: Session) -> None:
    ids = add_catalogue(session)
    track_id = ids["beat"][-1]
    review_genre(session, track_id, "beat", accept=False)
    row = review_genre(session, track_id, "beat", accept=True)
    assert row.rejected is False
    assert track_id in labelled_tracks(session, MODEL).track_ids.tolist()


def invoke(settings: Settings, *args: str) -> Any:
    return CliRunner().invoke(
        app,
        ["--home", str(settings.home), *args],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url, "SOUNDALIKE_EMBEDDING_MODEL": MODEL},
    )


def test_cli_review_train_predict_and_list_show_rejections(settings: Settings, session: Session) -> None:
    ids = add_catalogue(session)
    session.commit()
    target = ids["drone"][-1]
    result = invoke(settings, "genres", "review", str(target), "Drone", "--reject", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"track_id": target, "genre": "drone", "source": "curator", "rejected": True}
    accepted = invoke(settings, "genres", "review", str(ids["beat"][-1]), "beat", "--accept", "--json")
    assert json.loads(accepted.stdout)["rejected"] is False
    assert invoke(settings, "genres", "train", "--json").exit_code == 0
    predicted = json.loads(invoke(settings, "genres", "predict", "--json").stdout)
    assert predicted == {"predicted": 6, "none_of_these": 1}  # the rejected drone track's runner-up is unsure
    rows = json.loads(invoke(settings, "genres", "list", "--all", "--json").stdout)["tracks"]
    curator = [r for r in rows if r["source"] == "curator"]
    assert {(r["track_id"], r["genre"], r["rejected"]) for r in curator} == {
        (target, "drone", True),
        (ids["beat"][-1], "beat", False),
    }
    assert all(not (r["track_id"] == target and r["genre"] == "drone") for r in rows if r["source"] == "predicted")
    table = invoke(settings, "genres", "list", "--all")
    assert "rejected" in table.stdout


def test_cli_review_of_unknown_track_is_a_clear_error(settings: Settings, session: Session) -> None:
    add_catalogue(session)
    session.commit()
    result = invoke(settings, "genres", "review", "9999", "drone", "--accept", "--json")
    assert result.exit_code != 0
    assert "9999" in str(result.exception) + result.output


@pytest.mark.parametrize("flag", ["--accept", "--reject"])
def test_review_requires_a_known_genre_name(session: Session, flag: str) -> None:
    ids = add_catalogue(session)
    from soundalike.ingest.errors import InputError

    with pytest.raises(InputError):
        review_genre(session, ids["beat"][0], "  ", accept=flag == "--accept")


def test_undo_restores_what_each_decision_replaced_latest_first(session: Session) -> None:
    session.add(Track(id=1, path="/m/1.flac", size=1, mtime=0.0, status="ok"))
    session.flush()
    set_track_genre(session, 1, "drone", source="predicted", confidence=0.3, model_version="7")
    review_genre(session, 1, "drone", accept=False)
    review_genre(session, 1, "drone", accept=True)
    accepted, rejected = genre_history(session, 1)
    with pytest.raises(PreconditionError):
        undo_decision(session, rejected.id)  # a later decision replaced it
    undo_decision(session, accepted.id)
    state = {(r.source, r.rejected, r.confidence) for r in session.scalars(select(TrackGenre))}
    assert state == {("curator", True, 1.0)}
    undo_decision(session, rejected.id)
    state = {(r.source, r.rejected, r.confidence, r.model_version) for r in session.scalars(select(TrackGenre))}
    assert state == {("predicted", False, 0.3, "7")}
    with pytest.raises(NotFoundError):
        undo_decision(session, 999)
