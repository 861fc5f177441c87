"""Evaluation runs on the catalogue: genre tagging on held-out tracks and excerpt/album retrieval.

Each run writes a JSON report under ``plots/reports`` and its PNG plots under ``plots``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.embed.decodable import each_decodable
from soundalike.embed.evaluation import (
    evaluate_classification,
    evaluate_retrieval,
    expected_calibration_error,
    group_precision,
)
from soundalike.embed.genre_head import held_out_predictions, training_labels
from soundalike.embed.genres import list_track_genres
from soundalike.embed.models import EmbeddingModel
from soundalike.embed.plots import confusion_png, embedding_map_png, reliability_png
from soundalike.embed.store import load_embeddings
from soundalike.ingest.atomic_files import atomic_write_text
from soundalike.ingest.db.models import Track
from soundalike.ingest.errors import PreconditionError
from soundalike.ingest.paths import from_db_path
from soundalike.ingest.settings import Settings


def reports_dir(settings: Settings) -> Path:
    """Folder of JSON evaluation reports."""
    return settings.plots_dir / "reports"


def write_report(settings: Settings, name: str, report: dict[str, object]) -> Path:
    """Write ``report`` as ``plots/reports/<name>.json`` (with a UTC timestamp) and return the path."""
    report["created_at"] = datetime.now(UTC).isoformat()
    return atomic_write_text(reports_dir(settings) / f"{name}.json", json.dumps(report, indent=2, default=str))


def genre_report(session: Session, settings: Settings) -> dict[str, object]:
    """Score the trained genre head on its calibration groups (held out, no setting chosen on them) with cross-fitted
    temperatures; writes the confusion and reliability PNGs and the JSON report."""
    meta, track_ids, y_true, probs = held_out_predictions(session, settings.models_dir)
    scores = evaluate_classification(y_true, probs.argmax(axis=1), meta.classes)
    ece = expected_calibration_error(y_true, probs)
    reliability = reliability_png(
        probs.max(axis=1),
        probs.argmax(axis=1) == y_true,
        settings.plots_dir / "genre-reliability.png",
        title=f"Genre head {meta.version}: ECE {ece:.3f} on {len(track_ids)} held-out tracks",
    )
    plot = confusion_png(
        np.array(scores["confusion"]),
        meta.classes,
        settings.plots_dir / "genre-confusion.png",
        title=f"Genre head {meta.version} on {len(track_ids)} held-out tracks",
    )
    report: dict[str, object] = {
        "model_version": meta.version,
        "embedding_model": meta.embedding_model,
        "held_out_tracks": [int(t) for t in track_ids],
        **scores,
        "ece": ece,
        "min_confidence": meta.min_confidence,
        "max_distance": meta.max_distance,
        "confusion_png": str(plot),
        "reliability_png": str(reliability),
    }
    report["report"] = str(write_report(settings, "genres", report))
    return report


def track_genre_names(session: Session) -> dict[int, str]:
    """Genre to colour each track by: its training label, else its prediction."""
    names = {t: label.genre for t, label in training_labels(session).items()}
    for row in list_track_genres(session, source="predicted"):
        names.setdefault(int(str(row["track_id"])), str(row["genre"]))
    return names


def retrieval_report(
    session: Session,
    settings: Settings,
    model: EmbeddingModel,
    *,
    excerpts: int = 3,
    limit: int | None = None,
    on_track: Callable[[], None] | None = None,
) -> dict[str, object]:
    """Excerpt retrieval (recall@1/@10, mAP) and same-album precision@10 of the stored track embeddings.

    Tracks too short for ``excerpts`` excerpts are skipped and counted. Writes the embedding map PNG
    (PCA, coloured by genre) and the JSON report.
    """
    rows = session.execute(
        select(Track.id, Track.path).where(Track.status == "ok").order_by(Track.id).limit(limit)
    ).all()
    vectors, items = [], []
    for (track_id, _path), excerpt_vectors in each_decodable(
        rows, lambda row: model.embed_excerpts(from_db_path(row[1]), excerpts), on_item=on_track
    ):
        vectors.append(excerpt_vectors)
        items.extend([track_id] * excerpts)
    skipped = len(rows) - len(vectors)
    if len(vectors) < 2:
        raise PreconditionError(f"need at least 2 tracks with {excerpts} excerpts each, found {len(vectors)}")
    scores = evaluate_retrieval(np.concatenate(vectors), np.array(items))
    ids, track_vectors, version = load_embeddings(session, model.name)
    album_precision = None
    plot = None
    if len(ids) >= 2:
        albums: dict[int, str | None] = dict(
            session.execute(select(Track.id, Track.album).where(Track.id.in_([int(t) for t in ids]))).all()
        )
        album_precision = group_precision(track_vectors, [albums.get(int(t)) for t in ids])
        genres = track_genre_names(session)
        plot = embedding_map_png(
            track_vectors,
            [genres.get(int(t), "untagged") for t in ids],
            settings.plots_dir / f"embedding-map-{model.name}.png",
            title=f"{model.name} embeddings (PCA), {len(ids)} tracks",
        )
    report: dict[str, object] = {
        "model_name": model.name,
        "model_version": version,
        "tracks": len(vectors),
        "skipped": skipped,
        "excerpts_per_track": excerpts,
        **scores,
        "album_precision@10": album_precision,
        "embedding_map_png": None if plot is None else str(plot),
    }
    report["report"] = str(write_report(settings, f"retrieval-{model.name}", report))
    return report
