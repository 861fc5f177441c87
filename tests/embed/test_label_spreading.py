"""Transductive tagging: label spreading over the catalogue's neighbour graph, alone or combined with the head."""

from __future__ import annotations

from itertools import count
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from soundalike.embed.evaluation import expected_calibration_error
from soundalike.embed.genre_head import (
    call_probabilities,
    held_out_predictions,
    load_genre_head,
    predict_genres,
    train_genre_head,
)
from soundalike.embed.genres import list_track_genres
from soundalike.embed.label_spreading import neighbour_graph, spread_labels
from soundalike.embed.review import review_genre
from soundalike.embed.store import put_embeddings
from soundalike.ingest.db.models import Track
from soundalike.ingest.errors import ConfigError
from soundalike.ingest.repository import set_track_genre
from soundalike.ingest.settings import Settings, load_settings

from support.cli_runner import run_cli

MODEL = "mfcc-stats"
DIM = 8
SPREADING = ("spreading", "combined")
PATHS = count()


def add_track(session: Session, vector: np.ndarray, album: str, genre: str | None = None) -> int:
    track = Track(path=f"/music/{album}/{next(PATHS)}.wav", size=1, mtime=0.0, album=album, status="ok")
    session.add(track)
    session.flush()
    if genre is not None:
        set_track_genre(session, track.id, genre, source="label")
    put_embeddings(session, MODEL, "1", np.array([track.id]), vector[None].astype(np.float32))
    return track.id


def ring(radius: float, angle_degrees: float) -> np.ndarray:
    """A point on a ring around the axis every track shares (cosine neighbours follow the ring)."""
    vector = np.zeros(DIM)
    angle = np.deg2rad(angle_degrees)
    vector[0], vector[1], vector[2] = radius * np.cos(angle), radius * np.sin(angle), 4.0
    return vector


def circle_point(angle_degrees: float, radius: float = 3.0) -> np.ndarray:
    vector = np.zeros(DIM)
    angle = np.deg2rad(angle_degrees)
    vector[0], vector[1], vector[7] = radius * np.cos(angle), radius * np.sin(angle), 4.0
    return vector


def add_labelled_albums(session: Session, *, albums: int = 10, per_album: int = 3, unlabelled: int = 2) -> None:
    """Three genres around a circle, ``albums`` albums each: ``per_album`` labelled tracks and ``unlabelled`` more."""
    rng = np.random.default_rng(0)
    for genre, angle in enumerate((0.0, 120.0, 240.0)):
        for album in range(albums):
            for n in range(per_album + unlabelled):
                vector = circle_point(angle) + 1.2 * rng.standard_normal(DIM)
                add_track(session, vector, f"g{genre} {album}", f"g{genre}" if n < per_album else None)
    session.flush()


def stored_calls(session: Session) -> dict[int, tuple[str, str, float]]:
    return {
        int(str(r["track_id"])): (str(r["genre"]), str(r["source"]), float(str(r["confidence"])))
        for r in list_track_genres(session, every=True)
        if r["source"] in ("predicted", "suggested")
    }


def test_spreading_reaches_the_closed_form_fixed_point_on_a_symmetric_graph() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 6))
    labels = np.full(120, -1)
    labels[:12] = np.arange(12) % 3
    sources, targets = neighbour_graph(x, k=5)
    w = np.zeros((120, 120))
    w[sources, targets] = 1.0
    assert (w == w.T).all() and not w.diagonal().any() and (w.sum(axis=1) >= 5).all()
    s = w / np.sqrt(np.outer(w.sum(axis=1), w.sum(axis=1)))
    y = np.eye(3)[np.maximum(labels, 0)] * (labels >= 0)[:, None]
    exact = np.linalg.solve(np.eye(120) - 0.9 * s, y)
    exact /= exact.sum(axis=1, keepdims=True)
    spread = spread_labels(x, labels, 3, alpha=0.9)
    np.testing.assert_allclose(spread, exact, atol=1e-4)
    np.testing.assert_allclose(spread.sum(axis=1), 1.0)


def test_spreading_tags_each_ring_that_a_few_labels_leave_the_head_unable_to_separate(
    session: Session, tmp_path: Path
) -> None:
    truth: dict[int, str] = {}
    for genre, radius in (("inner", 1.0), ("outer", 3.0)):
        for n in range(40):
            labelled = n % 10 == 0
            track = add_track(session, ring(radius, 9.0 * n), f"{genre} {n}", genre if labelled else None)
            if not labelled:
                truth[track] = genre
    apart = [add_track(session, ring(1.0, 9.0 * n) * [1, 1, -1, 1, 1, 1, 1, 1], "apart") for n in range(6)]
    session.flush()

    accuracy = {}
    for tagger in ("head", "spreading"):
        train_genre_head(session, tmp_path / tagger, model_name=MODEL, tagger=tagger)
        predict_genres(session, tmp_path / tagger)
        calls = stored_calls(session)
        accuracy[tagger] = np.mean([calls[t][0] == genre for t, genre in truth.items()])
        if tagger == "spreading":
            assert all(calls[t][1] == "predicted" for t in truth)
            assert {calls[t][1] for t in apart} == {"suggested"}  # no label reaches them
    assert accuracy["head"] < 0.8
    assert accuracy["spreading"] == 1.0


@pytest.mark.parametrize("tagger", SPREADING)
def test_spread_confidences_are_calibrated_probabilities_on_held_out_albums(
    session: Session, tmp_path: Path, tagger: str
) -> None:
    add_labelled_albums(session)
    meta = train_genre_head(session, tmp_path, model_name=MODEL, tagger=tagger)
    assert meta.tagger == tagger and meta.split == "groups" and meta.n_calibration >= 20
    _, _, y_true, probs = held_out_predictions(session, tmp_path)
    assert ((probs >= 0) & (probs <= 1)).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert meta.ece is not None and meta.ece < 0.1
    assert expected_calibration_error(y_true, probs) == pytest.approx(meta.ece)
    assert predict_genres(session, tmp_path) > 0
    confidences = [c for _, _, c in stored_calls(session).values()]
    assert confidences and all(0.0 <= c <= 1.0 for c in confidences)


@pytest.mark.parametrize("tagger", SPREADING)
def test_a_track_far_from_every_genre_is_none_of_these_whatever_the_tagger(
    session: Session, tmp_path: Path, tagger: str
) -> None:
    add_labelled_albums(session)
    outsider = np.zeros(DIM)
    outsider[3] = -5.0
    far = add_track(session, outsider, "elsewhere")
    inside = add_track(session, circle_point(120.0), "new")
    meta = train_genre_head(session, tmp_path, model_name=MODEL, tagger=tagger)
    assert meta.max_distance is not None
    predict_genres(session, tmp_path)
    calls = stored_calls(session)
    assert calls[inside][:2] == ("g1", "predicted")
    assert calls[far][1] == "suggested"


@pytest.mark.parametrize("tagger", SPREADING)
def test_curator_decisions_still_win_over_spread_calls(session: Session, tmp_path: Path, tagger: str) -> None:
    add_labelled_albums(session)
    sure = add_track(session, circle_point(0.0), "new")
    accepted = add_track(session, circle_point(240.0), "new")
    train_genre_head(session, tmp_path, model_name=MODEL, tagger=tagger)
    predict_genres(session, tmp_path)
    assert stored_calls(session)[sure][:2] == ("g0", "predicted")
    review_genre(session, sure, "g0", accept=False)
    review_genre(session, accepted, "g1", accept=True)
    predict_genres(session, tmp_path)
    calls = stored_calls(session)
    assert calls[sure][0] != "g0" and calls[sure][1] == "suggested"  # no confident successor to a sure call
    assert accepted not in calls
    assigned = {int(str(r["track_id"])): (r["genre"], r["source"]) for r in list_track_genres(session)}
    assert assigned[accepted] == ("g1", "curator") and sure not in assigned


def test_the_saved_tagger_scores_rows_with_their_spreading_distribution(session: Session, tmp_path: Path) -> None:
    add_labelled_albums(session)
    train_genre_head(session, tmp_path, model_name=MODEL, tagger="spreading")
    head = load_genre_head(tmp_path)
    row = circle_point(0.0)
    toward_g2 = call_probabilities(head, row, np.array([0.1, 0.1, 0.8]))[0]
    toward_g0 = call_probabilities(head, row, np.array([0.8, 0.1, 0.1]))[0]
    assert toward_g2.argmax() == 2 and toward_g0.argmax() == 0  # spreading alone: the head's weights do not steer


def test_genres_train_and_predict_use_the_tagger_the_setting_names(
    settings: Settings, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_labelled_albums(session)
    session.commit()
    monkeypatch.setenv("SOUNDALIKE_GENRE_TAGGER", "combined")
    trained = run_cli(settings.model_copy(update={"embedding_model": MODEL}), "genres", "train")
    assert trained["tagger"] == "combined" and trained["embedded"] == 0
    assert load_genre_head(settings.models_dir).meta.tagger == "combined"
    predicted = run_cli(settings.model_copy(update={"embedding_model": MODEL}), "genres", "predict")
    assert predicted["predicted"] + predicted["none_of_these"] == 3 * 10 * 2


def test_an_unknown_tagger_is_a_config_error_naming_it(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUNDALIKE_GENRE_TAGGER", "knn")
    with pytest.raises(ConfigError, match="SOUNDALIKE_GENRE_TAGGER='knn'"):
        load_settings(tmp_path / "home")
    add_labelled_albums(session, albums=2)
    with pytest.raises(ConfigError, match="genre tagger 'knn' is not one of head, spreading, combined"):
        train_genre_head(session, tmp_path, model_name=MODEL, tagger="knn")
