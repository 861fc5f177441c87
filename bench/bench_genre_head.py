"""The product's genre head against a plain scikit-learn logistic regression, on the same stored features.

Usage: ``python bench/bench_genre_head.py corpus CORPUS_DIR WORK_DIR`` (the rendered corpus, ``[demo]`` extra:
each style family is a class) or ``python bench/bench_genre_head.py real MUSIC_DIR WORK_DIR`` (one folder per
album, e.g. extracted Debian game-music packages: each album is a class). The music is ingested once with
MusiCNN into a SQLite database under WORK_DIR (reused on later runs). For each seed a third of each class
(by piece for the corpus, by track for albums) is labelled, as a curator would; the head is trained with
``genres train``; ``genres predict`` tags the unlabelled rest, and ``sklearn.linear_model.LogisticRegression()``
(defaults) and the same after a ``StandardScaler`` (both fitted on exactly the rows the head was trained on)
tag it too.
Prints JSON: per-seed accuracy, macro-F1 and expected calibration error of each, their medians and ranges.
"""

from __future__ import annotations

import json
import platform
import random
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from soundalike.embed.evaluation import expected_calibration_error, macro_f1
from soundalike.embed.genre_head import (
    call_probabilities,
    labelled_tracks,
    load_genre_head,
    predict_genres,
    read_inputs,
    spread_over,
    train_genre_head,
)
from soundalike.embed.ingest_consumer import consumer_for
from soundalike.embed.musicnn_encoder import MODEL_NAME
from soundalike.ingest.db.models import MACHINE_SOURCES, Genre, Track, TrackGenre
from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.device import resolve_device
from soundalike.ingest.paths import absolute_path
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.repository import set_track_genre
from soundalike.ingest.settings import Settings

SEEDS = (0, 1, 2, 3, 4)


def classes_and_groups(kind: str, music: Path) -> dict[str, tuple[str, str]]:
    """Absolute path -> (class, group labelled together): style family and piece, or album folder and track."""
    if kind == "corpus":
        from soundalike.demo.corpus import build_corpus

        manifest = build_corpus(music, per_genre=16, seconds=30.0, seed=0)
        return {str(p.path.absolute()): (p.genre, p.piece) for p in manifest.pieces}
    return {str(p.absolute()): (p.parent.name, p.name) for p in sorted(music.glob("*/*.ogg"))}


def scores(y: np.ndarray, probs: np.ndarray, n_classes: int, predicted: np.ndarray | None = None) -> dict[str, float]:
    """Accuracy, macro-F1 and expected calibration error of probabilities ``probs`` for classes ``y``; accuracy
    and macro-F1 of ``predicted`` classes where given (else of the most probable ones)."""
    predicted = probs.argmax(axis=1) if predicted is None else predicted
    return {
        "accuracy": round(float(np.mean(predicted == y)), 3),
        "macro_f1": round(macro_f1(y, predicted, n_classes), 3),
        "ece": round(expected_calibration_error(y, probs), 3),
    }


class StoredCall(NamedTuple):
    """A call ``genres predict`` stored: the genre, its confidence, and whether it was assigned or only suggested."""

    genre: str
    confidence: float
    assigned: bool


def stored_calls(session: Session) -> dict[int, StoredCall]:
    """Track id -> the head's call that ``genres predict`` stored (closed-set tagging scores every call;
    ``none_of_these`` in ``one_seed`` counts the suggestions)."""
    query = (
        select(TrackGenre.track_id, Genre.name, TrackGenre.confidence, TrackGenre.source)
        .join(Genre)
        .where(TrackGenre.source.in_(MACHINE_SOURCES))
    )
    return {int(t): StoredCall(str(g), float(c), s == "predicted") for t, g, c, s in session.execute(query)}


def one_seed(
    session: Session,
    models_dir: Path,
    truth: dict[int, tuple[str, str]],
    seed: int,
    *,
    model_name: str = MODEL_NAME,
    tagger: str = "head",
) -> dict[str, object]:
    """Label a seeded third of each class's groups, train the head on ``model_name``'s stored rows for ``tagger``,
    let it predict, score its predictions and LR's on the unlabelled rest; ``calls`` holds each unlabelled track's
    outcome."""
    session.execute(delete(TrackGenre).where(TrackGenre.source.in_(("label", "curator", *MACHINE_SOURCES))))
    rng = random.Random(seed)
    labelled: set[int] = set()
    for genre in sorted({g for g, _ in truth.values()}):
        groups = sorted({grp for g, grp in truth.values() if g == genre})
        rng.shuffle(groups)
        chosen = set(groups[: max(1, round(len(groups) / 3))])
        labelled |= {t for t, (g, grp) in truth.items() if g == genre and grp in chosen}
    for track_id in sorted(labelled):
        set_track_genre(session, track_id, truth[track_id][0], source="label")
    meta = train_genre_head(session, models_dir, model_name=model_name, seed=seed, tagger=tagger)
    head = load_genre_head(models_dir)
    predict_genres(session, models_dir)
    stored = stored_calls(session)
    none_of_these = int(session.scalar(select(func.count()).where(TrackGenre.source == "suggested")) or 0)
    train = labelled_tracks(session, model_name, meta.input)
    ids, rows = read_inputs(session, model_name, meta.input)
    rest = [n for n, t in enumerate(ids) if int(t) in truth and int(t) not in labelled]
    x_rest = rows[rest]
    y_rest = np.array([meta.classes.index(truth[int(ids[n])][0]) for n in rest])
    y_train = np.array([meta.classes.index(g) for g in train.genres])
    calls = [stored[int(ids[n])] for n in rest]
    y_head = np.array([meta.classes.index(c.genre) for c in calls])
    spread = None
    if tagger != "head":
        seeds = {int(t): meta.classes.index(g) for t, g in zip(train.track_ids, train.genres, strict=True)}
        spread = spread_over((ids, rows), seeds, len(meta.classes))[rest]
    baseline = LogisticRegression(max_iter=5000).fit(train.rows, y_train)
    scaled = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(train.rows, y_train)
    session.rollback()
    return {
        "seed": seed,
        "labelled": len(labelled),
        "unlabelled": len(rest),
        "head": scores(y_rest, call_probabilities(head, x_rest, spread), len(meta.classes), y_head),
        "sklearn_lr": scores(y_rest, baseline.predict_proba(x_rest), len(meta.classes)),
        "sklearn_lr_standardised": scores(y_rest, scaled.predict_proba(x_rest), len(meta.classes)),
        "head_settings": {"l2": meta.l2, "temperature": round(meta.temperature, 3)},
        "held_out": {"split": meta.split, "n": meta.n_test, "ece": meta.ece, "ece_uncalibrated": meta.ece_uncalibrated},
        "none_of_these": none_of_these,
        "calls": {
            "track_ids": [int(ids[n]) for n in rest],
            "head_right": (y_head == y_rest).tolist(),
            "lr_right": (scaled.predict(x_rest) == y_rest).tolist(),
            "confidence": [c.confidence for c in calls],
            "assigned": [c.assigned for c in calls],
        },
    }


def summary(runs: list[dict[str, object]]) -> dict[str, dict[str, list[float]]]:
    """Median, min and max of each score of each method over the seeds."""
    out: dict[str, dict[str, list[float]]] = {}
    for method in ("head", "sklearn_lr", "sklearn_lr_standardised"):
        values: list[dict[str, float]] = [run[method] for run in runs]  # type: ignore[misc]
        out[method] = {}
        for name in ("accuracy", "macro_f1", "ece"):
            column = [v[name] for v in values]
            out[method][name] = [float(np.median(column)), min(column), max(column)]
    return out


def main(kind: str, music: Path, work: Path) -> None:
    """Ingest once, then compare the two heads over ``SEEDS``."""
    truth_by_path = classes_and_groups(kind, music)
    work.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=work, database_url=f"sqlite:///{work / 'bench.db'}", embedding_model=MODEL_NAME)
    factory = open_database(settings.db_url)
    device = resolve_device(settings.device)
    ingest(factory, [music], IngestOptions(settings=settings, device=device, consumer=consumer_for(settings, device)))
    with session_scope(factory) as session:
        stored = {p: t for p, t in session.execute(select(Track.path, Track.id).where(Track.status == "ok"))}
        truth = {stored[p]: truth_by_path[p] for p in truth_by_path if p in stored}
        runs = [one_seed(session, work / "models", truth, seed) for seed in SEEDS]
    for run in runs:
        del run["calls"]
    report = {
        "kind": kind,
        "tracks": len(truth),
        "classes": len({g for g, _ in truth.values()}),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}",
        "summary (median, min, max)": summary(runs),
        "runs": runs,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("corpus", "real"):
        sys.exit(__doc__)
    main(sys.argv[1], absolute_path(sys.argv[2]), absolute_path(sys.argv[3]))
