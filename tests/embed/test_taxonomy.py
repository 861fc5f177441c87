"""Genre tagging follows the curator: label and curator genres are the classes, file tags are evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from soundalike.cli import app
from soundalike.embed import genre_head
from soundalike.embed.evaluation import expected_calibration_error
from soundalike.embed.genre_head import predict_genres, train_genre_head
from soundalike.embed.genres import list_track_genres
from soundalike.embed.review import review_genre
from soundalike.embed.store import put_embeddings
from soundalike.ingest.db.models import Track
from soundalike.ingest.labels import import_labels
from soundalike.ingest.repository import set_track_genre
from soundalike.ingest.settings import Settings

MODEL = "mfcc-stats"
DIM = 8
STYLES = ("Battle-Themes", "calm_waters")


def invoke(settings: Settings, *args: str) -> Any:
    return CliRunner().invoke(
        app,
        ["--home", str(settings.home), *args],
        env={"SOUNDALIKE_DATABASE_URL": settings.db_url, "SOUNDALIKE_EMBEDDING_MODEL": MODEL},
    )


def add_albums(session: Session, tmp_path: Path, *, per_album: int = 6, albums: int = 3) -> dict[str, list[int]]:
    """Two styles of ``albums`` albums each (well separated embeddings); every file carries junk file tags."""
    rng = np.random.default_rng(0)
    ids: dict[str, list[int]] = {style: [] for style in STYLES}
    vectors = []
    for n_style, style in enumerate(STYLES):
        for i in range(per_album * albums):
            track = Track(
                path=str(tmp_path / f"{n_style}_{i}.ogg"), size=1, mtime=0.0, album=f"{style} {i % albums}", status="ok"
            )
            session.add(track)
            session.flush()
            ids[style].append(track.id)
            vectors.append(np.eye(DIM)[n_style] * 3 + 0.4 * rng.standard_normal(DIM))
            for junk in ("Music", "Sound FX") if i % 2 else ("Game", "(None)"):
                set_track_genre(session, track.id, junk, source="tag")
    put_embeddings(
        session, MODEL, "1", np.array(ids[STYLES[0]] + ids[STYLES[1]]), np.asarray(vectors, dtype=np.float32)
    )
    session.flush()
    return ids


def label_third(session: Session, tmp_path: Path, ids: dict[str, list[int]]) -> list[int]:
    """Label a third of each style through a CSV, as a curator would; returns the labelled ids."""
    csv = tmp_path / "labels.csv"
    labelled = {t: style for style in STYLES for t in ids[style][::3]}
    paths = {t.id: t.path for t in session.query(Track).filter(Track.id.in_(labelled))}
    csv.write_text("path,genre\n" + "".join(f"{paths[t]},{g}\n" for t, g in labelled.items()))
    assert import_labels(session, csv).imported == len(labelled)
    return list(labelled)


def test_file_tags_never_become_classes(session: Session, tmp_path: Path) -> None:
    ids = add_albums(session, tmp_path)
    label_third(session, tmp_path, ids)
    meta = train_genre_head(session, tmp_path / "models", model_name=MODEL)
    assert meta.classes == sorted(STYLES)


def test_every_unlabelled_track_is_predicted_including_tracks_with_file_tags(session: Session, tmp_path: Path) -> None:
    ids = add_albums(session, tmp_path)
    labelled = label_third(session, tmp_path, ids)
    train_genre_head(session, tmp_path / "models", model_name=MODEL)
    everyone = ids[STYLES[0]] + ids[STYLES[1]]
    assert predict_genres(session, tmp_path / "models") == len(everyone) - len(labelled)
    predicted = {r["track_id"]: r["genre"] for r in list_track_genres(session, source="predicted", every=True)}
    assert set(predicted) == set(everyone) - set(labelled)
    assert all(predicted[t] == style for style in STYLES for t in ids[style] if t in predicted)


def test_a_file_tag_matching_a_taxonomy_name_is_training_evidence(session: Session, tmp_path: Path) -> None:
    ids = add_albums(session, tmp_path)
    label_third(session, tmp_path, ids)
    tagged = ids[STYLES[1]][1]
    set_track_genre(session, tagged, "Calm Waters", source="tag")
    labelled = genre_head.labelled_tracks(session, MODEL)
    evidence = dict(zip(labelled.track_ids.tolist(), zip(labelled.genres, labelled.sources, strict=True), strict=True))
    assert evidence[tagged] == ("calm_waters", "tag")
    assert {g for g, _ in evidence.values()} == set(STYLES)


def test_label_names_are_kept_as_written_and_match_other_spellings(session: Session, tmp_path: Path) -> None:
    ids = add_albums(session, tmp_path)
    label_third(session, tmp_path, ids)
    review_genre(session, ids[STYLES[0]][1], "battle themes", accept=True)
    rows = list_track_genres(session, every=True)
    names = {r["genre"] for r in rows if r["source"] in ("label", "curator")}
    assert names == set(STYLES)


def test_reimporting_a_label_replaces_the_tracks_label(session: Session, tmp_path: Path) -> None:
    ids = add_albums(session, tmp_path)
    track = session.get(Track, ids[STYLES[0]][0])
    assert track is not None
    csv = tmp_path / "labels.csv"
    csv.write_text(f"path,genre\n{track.path},Battle-Themes\n")
    import_labels(session, csv)
    csv.write_text(f"path,genre\n{track.path},calm_waters\n")
    import_labels(session, csv)
    labels = [r["genre"] for r in list_track_genres(session, source="label", every=True) if r["track_id"] == track.id]
    assert labels == ["calm_waters"]


def test_temperature_is_fitted_on_held_out_rows_only(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = add_albums(session, tmp_path)
    for style in STYLES:
        for t in ids[style]:
            set_track_genre(session, t, style, source="label")
    fitted: list[int] = []
    calibrated: list[int] = []
    fit_head, fit_temperature = genre_head.fit_head, genre_head.fit_temperature

    def spy_fit(x: np.ndarray, y: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        fitted.append(len(x))
        return fit_head(x, y, *args, **kwargs)

    def spy_temperature(logits: np.ndarray, y: np.ndarray) -> float:
        calibrated.append(len(logits))
        return fit_temperature(logits, y)

    monkeypatch.setattr(genre_head, "fit_head", spy_fit)
    monkeypatch.setattr(genre_head, "fit_temperature", spy_temperature)
    meta = train_genre_head(session, tmp_path / "models", model_name=MODEL)
    assert meta.n_test > 0 and calibrated
    assert calibrated[-1] == meta.n_calibration and 0 < meta.n_calibration <= meta.n_test
    assert fitted[-1] == meta.n_train + meta.n_test  # the final head sees every label
    assert set(fitted[:-1]) == {meta.n_train}  # every fit whose logits were calibrated saw only the training side


def test_train_reports_the_calibration_error_of_its_held_out_predictions(session: Session, tmp_path: Path) -> None:
    ids = add_albums(session, tmp_path)
    label_third(session, tmp_path, ids)
    meta = train_genre_head(session, tmp_path / "models", model_name=MODEL)
    assert meta.ece is not None and 0.0 <= meta.ece <= 1.0
    assert meta.ece_uncalibrated is not None


def test_expected_calibration_error_of_a_known_example() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.4, 0.6]])
    # bin (0.8, 0.9]: 4 calls at 0.9, 3 right (gap 0.15); bin (0.5, 0.6]: 2 calls at 0.6, both right (gap 0.4)
    assert expected_calibration_error(y, probs, n_bins=10) == pytest.approx(4 / 6 * 0.15 + 2 / 6 * 0.4)
    assert expected_calibration_error(np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(0.0)


def test_genres_list_shows_one_assigned_genre_per_track_by_precedence(session: Session, tmp_path: Path) -> None:
    ids = add_albums(session, tmp_path, per_album=2, albums=1)
    a, b, c, d = ids[STYLES[0]] + ids[STYLES[1]]
    for track in (a, b, c):
        set_track_genre(session, track, "calm_waters", source="predicted", confidence=0.9999996)
    set_track_genre(session, a, "Battle-Themes", source="label")
    review_genre(session, a, "calm_waters", accept=True)
    review_genre(session, b, "Battle-Themes", accept=True)
    review_genre(session, d, "Music", accept=False)
    assigned = {r["track_id"]: (r["genre"], r["source"], r["confidence"]) for r in list_track_genres(session)}
    assert assigned == {
        a: ("Battle-Themes", "label", None),
        b: ("Battle-Themes", "curator", 1.0),
        c: ("calm_waters", "predicted", 0.999),
        d: ("Sound FX", "tag", None),
    }


def test_cli_genres_list_prints_three_decimals_and_its_source(settings: Settings, session: Session) -> None:
    ids = add_albums(session, settings.home, per_album=1, albums=1)
    set_track_genre(session, ids[STYLES[0]][0], "calm_waters", source="predicted", confidence=0.9999996)
    set_track_genre(session, ids[STYLES[1]][0], "calm_waters", source="predicted", confidence=0.61234)
    session.commit()
    rows = json.loads(invoke(settings, "genres", "list", "--json").stdout)["tracks"]
    assert [(r["genre"], r["source"], r["confidence"]) for r in rows] == [
        ("calm_waters", "predicted", 0.999),
        ("calm_waters", "predicted", 0.612),
    ]
    table = invoke(settings, "genres", "list").stdout
    assert "0.612" in table and "0.999" in table and "1.00" not in table
