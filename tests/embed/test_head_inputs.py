"""What the genre head reads: MusiCNN's pooled mid-level features when stored, else the embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from soundalike.embed.genre_head import (
    EMBEDDING_INPUT,
    fit_head,
    fit_softmax,
    predict_genres,
    probabilities,
    train_genre_head,
)
from soundalike.embed.genres import list_track_genres
from soundalike.embed.musicnn_encoder import MODEL_NAME, MODEL_VERSION, POOLED_FEATURE
from soundalike.embed.store import put_embeddings
from soundalike.ingest.db.models import Track
from soundalike.ingest.repository import set_feature, set_track_genre

STYLES = ("drone", "beat")


def add_musicnn_catalogue(session: Session, *, with_pooled: bool, per_style: int = 12) -> dict[str, list[int]]:
    """Embeddings that carry no genre (noise) and pooled features that do (one direction per style)."""
    rng = np.random.default_rng(1)
    ids: dict[str, list[int]] = {style: [] for style in STYLES}
    for n_style, style in enumerate(STYLES):
        for i in range(per_style):
            track = Track(path=f"/music/{style}_{i}.wav", size=1, mtime=0.0, album=f"{style} {i % 4}", status="ok")
            session.add(track)
            session.flush()
            ids[style].append(track.id)
            put_embeddings(
                session,
                MODEL_NAME,
                MODEL_VERSION,
                np.array([track.id]),
                rng.standard_normal((1, 16)).astype(np.float32),
            )
            if with_pooled:
                pooled = np.abs(rng.standard_normal(1506)).astype(np.float32)
                pooled[n_style * 100 : n_style * 100 + 100] += 2.0
                set_feature(session, track.id, POOLED_FEATURE, MODEL_VERSION, pooled)
            if i < per_style * 2 // 3:
                set_track_genre(session, track.id, style, source="label")
    session.flush()
    return ids


def test_fit_head_folds_the_standardisation_into_weights_for_raw_rows() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 5)) * np.array([0.01, 1.0, 100.0, 5.0, 0.5]) + np.array([3.0, -2.0, 50.0, 0.0, 1.0])
    y = (x[:, 2] > 50.0).astype(np.int64)
    weights, bias = fit_head(x, y, 2)
    mean, spread = x.mean(axis=0), x.std(axis=0) + 1e-6
    w_std, b_std = fit_softmax((x - mean) / spread, y, 2)
    np.testing.assert_allclose(
        probabilities(x, weights, bias, 1.0), probabilities((x - mean) / spread, w_std, b_std, 1.0), atol=1e-4
    )
    assert np.mean(probabilities(x, weights, bias, 1.0).argmax(axis=1) == y) > 0.9


def test_a_musicnn_head_trains_and_predicts_on_the_pooled_features(session: Session, tmp_path: Path) -> None:
    ids = add_musicnn_catalogue(session, with_pooled=True)
    meta = train_genre_head(session, tmp_path, model_name=MODEL_NAME)
    assert meta.input == POOLED_FEATURE
    assert meta.accuracy == 1.0  # the embeddings are noise: only the pooled features can tell the styles apart
    assert predict_genres(session, tmp_path) == 8
    predicted = {r["track_id"]: r["genre"] for r in list_track_genres(session, source="predicted")}
    assert predicted == {t: style for style in STYLES for t in ids[style][8:]}


def test_without_pooled_features_the_head_reads_the_embeddings(session: Session, tmp_path: Path) -> None:
    add_musicnn_catalogue(session, with_pooled=False)
    meta = train_genre_head(session, tmp_path, model_name=MODEL_NAME)
    assert meta.input == EMBEDDING_INPUT and meta.n_train + meta.n_test == 16
