"""Confidences a curator can trust: calibration on held-out albums, "none of these", and rejected calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from soundalike.embed.calibration import cross_fitted
from soundalike.embed.evaluation import expected_calibration_error
from soundalike.embed.genre_head import (
    genre_call,
    held_out_predictions,
    load_genre_head,
    predict_genres,
    probabilities,
    train_genre_head,
)
from soundalike.embed.genres import list_track_genres
from soundalike.embed.open_set import fit_min_confidence
from soundalike.embed.review import review_genre
from soundalike.embed.store import put_embeddings
from soundalike.ingest.db.models import Track
from soundalike.ingest.repository import set_track_genre

MODEL = "mfcc-stats"
DIM = 8
ANGLES = np.deg2rad([0.0, 120.0, 240.0])


def point(angle_degrees: float, radius: float) -> np.ndarray:
    """A vector in the genres' plane, with the offset every track shares."""
    vector = np.zeros(DIM)
    vector[0], vector[1], vector[7] = (
        radius * np.cos(np.deg2rad(angle_degrees)),
        radius * np.sin(np.deg2rad(angle_degrees)),
        4.0,
    )
    return vector


def add_labelled_albums(session: Session, *, albums: int = 10, per_album: int = 3) -> None:
    """Three genres around a circle, ``albums`` albums of ``per_album`` labelled tracks each, overlapping a little."""
    rng = np.random.default_rng(0)
    ids, vectors = [], []
    for genre, angle in enumerate(np.rad2deg(ANGLES)):
        for album in range(albums):
            for n in range(per_album):
                track = Track(
                    path=f"/music/g{genre}/{album}-{n}.wav", size=1, mtime=0.0, album=f"g{genre} {album}", status="ok"
                )
                session.add(track)
                session.flush()
                set_track_genre(session, track.id, f"g{genre}", source="label")
                ids.append(track.id)
                vectors.append(point(angle, 3.0) + 1.2 * rng.standard_normal(DIM))
    put_embeddings(session, MODEL, "1", np.array(ids), np.asarray(vectors, dtype=np.float32))
    session.flush()


def add_unlabelled(session: Session, vector: np.ndarray) -> int:
    track = Track(path=f"/music/new/{vector.sum():.3f}.wav", size=1, mtime=0.0, status="ok")
    session.add(track)
    session.flush()
    put_embeddings(session, MODEL, "1", np.array([track.id]), vector[None].astype(np.float32))
    return track.id


def calls(session: Session) -> dict[int, tuple[str, str]]:
    return {
        int(str(r["track_id"])): (str(r["genre"]), str(r["source"])) for r in list_track_genres(session, every=True)
    }


def test_calibrated_confidences_on_held_out_albums_have_ece_below_0_06(session: Session, tmp_path: Path) -> None:
    add_labelled_albums(session)
    meta = train_genre_head(session, tmp_path, model_name=MODEL)
    assert meta.split == "groups" and meta.n_calibration >= 20
    _, track_ids, y_true, probs = held_out_predictions(session, tmp_path)
    assert len(track_ids) == meta.n_calibration
    assert meta.ece is not None and meta.ece < 0.06
    assert expected_calibration_error(y_true, probs) == pytest.approx(meta.ece)


def test_cross_fitted_probabilities_never_use_a_temperature_fitted_on_their_own_rows() -> None:
    logits = np.tile([[6.0, 0.0], [0.0, 6.0]], (10, 1))
    y = np.tile([0, 1], 10)
    y[:10] = 1 - y[:10]  # the first fold is always wrong, the second always right
    fold = np.arange(20) < 10
    probs = cross_fitted(logits, y, fold)
    assert probs[~fold].max(axis=1).min() < 0.6  # the second fold is softened by the wrong first fold's temperature
    assert probs[fold].max(axis=1).min() > 0.99  # and the first sharpened by the right second fold's


def test_confidence_threshold_is_the_lowest_at_which_held_out_calls_stay_precise() -> None:
    confidence = np.array([0.99, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4])
    correct = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], dtype=bool)
    assert fit_min_confidence(confidence, correct) == 0.5
    assert fit_min_confidence(confidence[:3], correct[:3]) == 0.5  # too few calls: the default
    assert fit_min_confidence(confidence, np.zeros(10, dtype=bool)) == 1.0


def test_a_vector_far_from_every_genre_is_none_of_these(session: Session, tmp_path: Path) -> None:
    add_labelled_albums(session)
    meta = train_genre_head(session, tmp_path, model_name=MODEL)
    assert meta.max_distance is not None
    outsider = np.zeros(DIM)
    outsider[3] = -5.0
    inside = add_unlabelled(session, point(120.0, 3.0))
    far = add_unlabelled(session, outsider)
    head = load_genre_head(tmp_path)
    assert probabilities(outsider, head.weights, head.bias, meta.temperature).max() > 0.5  # softmax alone would tag it
    assert predict_genres(session, tmp_path) == 1
    stored = calls(session)
    assert stored[inside] == ("g1", "predicted")
    assert stored[far][1] == "suggested"
    assert far not in {r["track_id"] for r in list_track_genres(session)}


def test_reject_with_an_unconfident_runner_up_leaves_the_track_without_a_genre(
    session: Session, tmp_path: Path
) -> None:
    add_labelled_albums(session)
    train_genre_head(session, tmp_path, model_name=MODEL)
    sure = add_unlabelled(session, point(0.0, 3.0))
    predict_genres(session, tmp_path)
    assert calls(session)[sure] == ("g0", "predicted")
    review_genre(session, sure, "g0", accept=False)
    head = load_genre_head(tmp_path)
    runner_up = np.sort(probabilities(point(0.0, 3.0), head.weights, head.bias, head.meta.temperature)[0])[-2]
    assert runner_up < 1 - head.meta.min_confidence
    assert predict_genres(session, tmp_path) == 0
    assert calls(session)[sure][1] == "suggested"
    assert sure not in {r["track_id"] for r in list_track_genres(session)}


def test_reject_with_a_confident_runner_up_assigns_it(session: Session, tmp_path: Path) -> None:
    add_labelled_albums(session)
    train_genre_head(session, tmp_path, model_name=MODEL)
    head = load_genre_head(tmp_path)
    between = point(60.0, 1.5)  # halfway between g0 and g1, nowhere near g2
    probs = probabilities(between, head.weights, head.bias, head.meta.temperature)[0]
    top, second = (head.meta.classes[c] for c in np.argsort(-probs)[:2])
    assert {top, second} == {"g0", "g1"}
    call = genre_call(head, between, {top})
    assert call is not None and call.genre == second and call.assigned
    assert call.confidence >= head.meta.min_confidence
    track = add_unlabelled(session, between)
    review_genre(session, track, top, accept=False)
    predict_genres(session, tmp_path)
    assert calls(session)[track] == (second, "predicted")
