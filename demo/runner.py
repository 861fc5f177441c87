"""The demo runner: a catalogue of real recordings (Debian packages), tagged, indexed and recommending."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from soundalike.demo.debian_music import DEMO_PACKAGES, fetch_package_music
from soundalike.embed.genre_head import predict_genres, train_genre_head
from soundalike.embed.genres import list_track_genres
from soundalike.embed.ingest_consumer import consumer_for
from soundalike.embed.models import embedding_model
from soundalike.embed.reports import genre_report, retrieval_report
from soundalike.index.backends import resolve_index_backend
from soundalike.index.sync import build_from_database
from soundalike.ingest.db.models import Track
from soundalike.ingest.db.session import open_database, session_scope
from soundalike.ingest.device import resolve_device
from soundalike.ingest.errors import NotFoundError
from soundalike.ingest.history import import_history
from soundalike.ingest.labels import import_labels
from soundalike.ingest.paths import absolute_path
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.ingest.repository import set_track_genre
from soundalike.ingest.settings import Settings
from soundalike.recommend.playlist import recommend_for_user
from soundalike.recommend.service import Service
from soundalike.recommend.similar import similar_to_track
from soundalike.recommend.simulated_listeners import MIN_GROUP_TRACKS, events_of, listener_liking

CORPUS_PER_GENRE = 10
CORPUS_SECONDS = 30.0
RETRIEVAL_EVAL_TRACKS = 40


@dataclass
class DemoSummary:
    """What the demo did, for printing as tables or JSON."""

    ingest: dict[str, object] = field(default_factory=dict)
    index: dict[str, object] = field(default_factory=dict)
    genre_model: dict[str, object] = field(default_factory=dict)
    predicted: list[dict[str, object]] = field(default_factory=list)
    corpus_accuracy: dict[str, object] = field(default_factory=dict)
    genre_eval: dict[str, object] = field(default_factory=dict)
    retrieval: dict[str, object] = field(default_factory=dict)
    similar: dict[str, object] = field(default_factory=dict)
    playlists: dict[str, list[dict[str, object]]] = field(default_factory=dict)


def simulated_history(folders: dict[str, list[int]], *, seed: int) -> list[dict[str, object]]:
    """Listening events of one simulated fan per folder, who likes that folder only (half of it held out)."""
    rng = np.random.default_rng(seed)
    events = []
    for folder in sorted(folders):
        fan = listener_liking(f"{folder}-fan", (folder,), folders, hold_out=0.5, rng=rng)
        for track_id, played_at, skipped in events_of(fan.history, rng):
            events.append({"user": fan.name, "track": track_id, "played_at": played_at.isoformat(), "skipped": skipped})
    return events


def label_folders(session: Session) -> None:
    """Label every third stored track of each folder (by path) with the folder's name: the demo's curator."""
    by_folder: dict[str, list[int]] = {}
    for track_id, path in session.execute(
        select(Track.id, Track.path).where(Track.status == "ok").order_by(Track.path)
    ):
        by_folder.setdefault(Path(path).parent.name, []).append(track_id)
    for folder, ids in by_folder.items():
        for track_id in ids[::3]:
            set_track_genre(session, track_id, folder, source="label")


def run_demo(
    settings: Settings, *, music: Path | None = None, on_step: Callable[[str], None] = lambda _s: None
) -> DemoSummary:
    """Fetch (or use) the demo music, then ingest, index, train, tag and recommend, all on one resolved device."""
    summary = DemoSummary()
    device = resolve_device(settings.device)
    demo_dir = settings.home / "demo"
    held_out: dict[str, str] = {}
    roots = [music] if music is not None else []
    if music is None:
        from soundalike.demo.corpus import build_corpus, split_by_piece  # needs music21, the [demo] extra

        music = demo_dir / "music"
        for package in DEMO_PACKAGES:
            on_step(f"fetching {package}")
            fetch_package_music(package, demo_dir / "debs", music)
        on_step("rendering the genre-labelled corpus (music21 + fluidsynth)")
        manifest = build_corpus(demo_dir / "corpus", per_genre=CORPUS_PER_GENRE, seconds=CORPUS_SECONDS)
        train, test = split_by_piece(manifest)
        genre_of = {p.path: p.genre for p in manifest.pieces}
        held_out = {str(absolute_path(p)): genre_of[p] for p in test}  # spelled as the catalogue stores it
        roots = [music, manifest.root]
    factory = open_database(settings.db_url)
    on_step("ingesting " + ", ".join(map(str, roots)))
    consumer = consumer_for(settings, device)
    summary.ingest = ingest(
        factory, roots, IngestOptions(settings=settings, device=device, consumer=consumer)
    ).as_dict()
    if held_out:
        training_labels = demo_dir / "corpus-train-labels.csv"
        with training_labels.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "genre"])
            writer.writerows((str(absolute_path(p)), genre_of[p]) for p in train)
        with session_scope(factory) as session:
            import_labels(session, training_labels)
    else:
        with session_scope(factory) as session:
            on_step("labelling a third of each folder with its name, as a curator would")
            label_folders(session)
    with session_scope(factory) as session:
        on_step("building the index")
        model = embedding_model(settings, device)
        meta = build_from_database(session, settings, model, backend=resolve_index_backend(device))
        summary.index = {"count": meta.count, "dim": meta.dim, "factory": meta.factory, "model": meta.model_name}
        on_step("training the genre model")
        head = train_genre_head(session, settings.models_dir, model_name=model.name, tagger=settings.genre_tagger)
        summary.genre_model = {
            "classes": head.classes,
            "accuracy": head.accuracy,
            "n_train": head.n_train,
            "n_test": head.n_test,
        }
        predict_genres(session, settings.models_dir)
        summary.predicted = list_track_genres(session, source="predicted")
        if held_out:
            hits = [row["genre"] == held_out[str(row["path"])] for row in summary.predicted if row["path"] in held_out]
            summary.corpus_accuracy = {"held_out_pieces": len(hits), "accuracy": sum(hits) / max(len(hits), 1)}
        on_step("evaluating genre tagging and retrieval (reports and plots)")
        summary.genre_eval = genre_report(session, settings)
        try:
            summary.retrieval = retrieval_report(session, settings, model, excerpts=3, limit=RETRIEVAL_EVAL_TRACKS)
        except NotFoundError as exc:
            summary.retrieval = {"unavailable": str(exc)}
        rows = session.execute(select(Track.id, Track.path).where(Track.status == "ok").order_by(Track.id)).all()
    by_folder: dict[str, list[int]] = {}
    for track_id, path in rows:
        by_folder.setdefault(Path(path).parent.name, []).append(track_id)
    demo_dir.mkdir(parents=True, exist_ok=True)
    history = demo_dir / "history.csv"
    events = simulated_history({k: v for k, v in by_folder.items() if len(v) >= MIN_GROUP_TRACKS}, seed=0)
    with history.open("w", newline="") as handle:
        history_writer = csv.DictWriter(handle, fieldnames=["user", "track", "played_at", "skipped"])
        history_writer.writeheader()
        history_writer.writerows(events)
    service = Service.open(settings, factory, device=device)
    with session_scope(factory) as session:
        on_step("importing simulated listening history")
        import_history(session, history)
        seed_id, seed_path = rows[0]
        summary.similar = {
            "track_id": seed_id,
            "path": seed_path,
            "results": [r.as_dict() for r in similar_to_track(session, service.index, seed_id, 5)],
        }
        for user in sorted({str(e["user"]) for e in events}):
            summary.playlists[user] = [r.as_dict() for r in recommend_for_user(session, service.index, user, 5)]
    return summary
