from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from sqlalchemy.orm import Session

from soundalike.embed.evaluation import macro_f1
from soundalike.embed.genre_head import (
    HEAD_FILE,
    fit_softmax,
    fit_temperature,
    group_split,
    held_out_split,
    labelled_tracks,
    load_genre_head,
    probabilities,
    train_genre_head,
)
from soundalike.embed.store import put_embeddings
from soundalike.ingest.db.models import Track
from soundalike.ingest.errors import PreconditionError
from soundalike.ingest.repository import set_track_genre

MODEL = "mfcc-stats"


def add_genre_tracks(session: Session, genres: tuple[str, ...], *, per_genre: int = 6) -> dict[str, list[int]]:
    """``per_genre`` tracks of each genre on two albums, with well separated embeddings; returns their ids."""
    rng = np.random.default_rng(0)
    ids: dict[str, list[int]] = {}
    vectors = []
    for n, genre in enumerate(genres):
        for i in range(per_genre):
            track = Track(path=f"/music/{genre}/{i}.ogg", size=1, mtime=0.0, album=f"{genre} {i % 2}", status="ok")
            session.add(track)
            session.flush()
            ids.setdefault(genre, []).append(track.id)
            vectors.append(np.eye(len(genres))[n] * 3 + 0.4 * rng.standard_normal(len(genres)))
    every = np.array([t for genre in genres for t in ids[genre]])
    put_embeddings(session, MODEL, "1", every, np.asarray(vectors, dtype=np.float32))
    return ids


def label(session: Session, ids: list[int], genre: str) -> None:
    for track_id in ids:
        set_track_genre(session, track_id, genre, source="label")
    session.flush()


def test_group_split_keeps_groups_whole_and_every_class_in_training() -> None:
    groups = [f"album{i // 3}" for i in range(30)] + ["solo"] * 5
    labels = ["a" if i < 15 else "b" for i in range(30)] + ["c"] * 5
    test = group_split(groups, labels, test_fraction=0.4, seed=0)
    for group in set(groups):
        sides = {bool(t) for g, t in zip(groups, test, strict=True) if g == group}
        assert len(sides) == 1
    train_labels = {lab for lab, t in zip(labels, test, strict=True) if not t}
    assert train_labels == {"a", "b", "c"}
    assert not any(t for lab, t in zip(labels, test, strict=True) if lab == "c")
    assert 0 < test.sum() < 30


def test_when_each_album_is_its_own_genre_the_pieces_are_held_out_whole(session: Session) -> None:
    """Excerpts (or copies) of one title on one album never sit on both sides of the calibration split."""
    rng = np.random.default_rng(1)
    ids, vectors = [], []
    for album in ("north", "south"):
        for piece in range(6):
            for excerpt in range(3):
                track = Track(
                    path=f"/music/{album}/{piece}_{excerpt}.flac",
                    size=1,
                    mtime=0.0,
                    album=album,
                    title=f"Piece {piece}",
                    status="ok",
                )
                session.add(track)
                session.flush()
                ids.append(track.id)
                vectors.append(rng.standard_normal(4))
                set_track_genre(session, track.id, album, source="label")
    put_embeddings(session, MODEL, "1", np.array(ids), np.asarray(vectors, dtype=np.float32))
    session.flush()
    labelled = labelled_tracks(session, MODEL)
    split = held_out_split(labelled, test_fraction=0.3, seed=0)
    assert split.kind == "tracks" and split.test.any()
    for work in set(labelled.works):
        rows = [n for n, w in enumerate(labelled.works) if w == work]
        assert len(rows) == 3
        assert len({bool(split.test[n]) for n in rows}) == 1, work
        assert not (split.test[rows].any() and split.train[rows].any())


def test_softmax_head_separates_held_out_clusters_well_above_chance() -> None:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 16)) * 2
    y = np.repeat(np.arange(3), 40)
    x = (centres[y] + rng.standard_normal((120, 16))).astype(np.float32)
    train = np.arange(120) % 4 != 0
    w, b = fit_softmax(x[train], y[train], 3)
    predicted = probabilities(x[~train], w, b, 1.0).argmax(axis=1)
    assert np.mean(predicted == y[~train]) >= 0.9  # chance is 1/3
    assert macro_f1(y[~train], predicted, 3) >= 0.9


def test_temperature_softens_overconfident_wrong_logits() -> None:
    logits = np.tile([[10.0, 0.0], [0.0, 10.0], [10.0, 0.0], [0.0, 10.0]], (3, 1))
    y = np.tile([0, 1, 1, 0], 3)  # half of the confident calls are wrong
    assert fit_temperature(logits, y) > 5.0
    assert fit_temperature(logits, np.tile([0, 1, 0, 1], 3)) < 0.5


def test_too_few_held_out_rows_leave_the_temperature_at_one() -> None:
    logits = np.array([[10.0, 0.0], [0.0, 10.0], [10.0, 0.0]])
    assert fit_temperature(logits, np.array([0, 1, 0])) == 1.0


def test_a_crash_while_saving_a_new_head_leaves_the_previous_head_whole(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = add_genre_tracks(session, ("ambient", "metal", "polka"))
    label(session, ids["ambient"], "ambient")
    label(session, ids["metal"], "metal")
    first = train_genre_head(session, tmp_path / "models", model_name=MODEL)
    label(session, ids["polka"], "polka")

    def power_cut(src: object, dst: object) -> None:
        raise OSError("power cut")

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", power_cut)
        with pytest.raises(OSError, match="power cut"):
            train_genre_head(session, tmp_path / "models", model_name=MODEL)
    head = load_genre_head(tmp_path / "models")
    assert head.meta == first and head.meta.classes == ["ambient", "metal"]
    assert head.weights.shape[1] == head.bias.shape[0] == head.directions.shape[0] == 2
    assert [p.name for p in (tmp_path / "models").iterdir()] == [HEAD_FILE]
    second = train_genre_head(session, tmp_path / "models", model_name=MODEL)
    assert load_genre_head(tmp_path / "models").meta == second and second.classes == ["ambient", "metal", "polka"]


def test_a_head_saved_in_the_old_two_file_format_asks_for_retraining(tmp_path: Path) -> None:
    save_file({"weights": torch.zeros((4, 2)), "bias": torch.zeros(2)}, str(tmp_path / HEAD_FILE))
    (tmp_path / "genre-head.json").write_text('{"version": "old"}')
    with pytest.raises(PreconditionError, match="older format: run `soundalike genres train` again"):
        load_genre_head(tmp_path)
