"""Genre head: a calibrated softmax classifier trained on labelled tracks' audio representations.

The head's input is the embedding model's tagging representation where it has one (MusiCNN: the
pooled mid-level features, unit-norm, which tag ~5 points better than its penultimate embedding,
bench/RESULTS.md) and the embedding itself otherwise. Inputs are standardised with the training
rows' mean and spread, folded into the saved weights. Tracks are split by group (album, else
artist, else the track itself) so one album never sits on both sides; a temperature fitted on a
calibration slice of the training groups makes the confidences honest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from soundalike.embed.evaluation import macro_f1
from soundalike.embed.musicnn_encoder import MODEL_NAME as MUSICNN
from soundalike.embed.musicnn_encoder import POOLED_FEATURE
from soundalike.embed.review import rejected_pairs
from soundalike.embed.store import load_embeddings
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.db.models import Genre, Track, TrackGenre
from soundalike.ingest.errors import NotFoundError
from soundalike.ingest.repository import feature_matrix, set_track_genre

TRUSTED_SOURCES = ("curator", "label", "tag")
HEAD_FILE = "genre-head.safetensors"
META_FILE = "genre-head.json"
EMBEDDING_INPUT = "embedding"
TAGGING_FEATURES = {MUSICNN: POOLED_FEATURE}


@dataclass(frozen=True)
class GenreHeadMeta:
    """What a trained head was trained on and how well it did on held-out groups."""

    version: str
    embedding_model: str
    classes: list[str]
    temperature: float
    n_train: int
    n_test: int
    accuracy: float | None
    macro_f1: float | None
    test_fraction: float = 0.3
    seed: int = 0
    input: str = EMBEDDING_INPUT


def trusted_labels(session: Session) -> dict[int, tuple[str, str]]:
    """Track id -> (genre, group) for tracks with a trusted genre; curator > label > tag.

    Rejected rows, and any genre a curator rejected for that track, are never labels. The group is the
    album, else the artist, else the track itself, so a split never puts one album on both sides.
    """
    rejected = rejected_pairs(session)
    rows = session.execute(
        select(TrackGenre.track_id, TrackGenre.source, Genre.name, Track.album, Track.artist)
        .join(Genre, Genre.id == TrackGenre.genre_id)
        .join(Track, Track.id == TrackGenre.track_id)
        .where(TrackGenre.source.in_(TRUSTED_SOURCES), TrackGenre.rejected.is_(False), Track.status == "ok")
        .order_by(TrackGenre.track_id, Genre.name)
    ).all()
    best: dict[int, tuple[int, str, str]] = {}
    for row in rows:
        if (row.track_id, row.name) in rejected:
            continue
        rank = TRUSTED_SOURCES.index(row.source)
        if row.track_id not in best or rank < best[row.track_id][0]:
            group = (
                f"album:{row.album}" if row.album else f"artist:{row.artist}" if row.artist else f"track:{row.track_id}"
            )
            best[row.track_id] = (rank, row.name, group)
    return {track_id: (genre, group) for track_id, (_, genre, group) in sorted(best.items())}


def read_inputs(session: Session, model_name: str, input_name: str) -> tuple[np.ndarray, np.ndarray]:
    """(track ids, rows) of one head input: the model's embeddings, or a stored feature made unit-norm."""
    if input_name == EMBEDDING_INPUT:
        ids, vectors, _ = load_embeddings(session, model_name)
        return ids, vectors
    ids, vectors = feature_matrix(session, input_name)
    return ids, unit_rows(vectors) if len(ids) else vectors


def head_inputs(session: Session, model_name: str) -> tuple[str, np.ndarray, np.ndarray]:
    """(input name, track ids, rows) a new head trains on: the model's tagging features when stored, else
    its embeddings."""
    feature = TAGGING_FEATURES.get(model_name)
    if feature is not None:
        ids, vectors = read_inputs(session, model_name, feature)
        if len(ids):
            return feature, ids, vectors
    return (EMBEDDING_INPUT, *read_inputs(session, model_name, EMBEDDING_INPUT))


class Labelled(NamedTuple):
    """Tracks with a trusted genre, as one head input reads them."""

    input: str
    track_ids: np.ndarray
    rows: np.ndarray
    genres: list[str]
    groups: list[str]


def labelled_tracks(session: Session, model_name: str, input_name: str | None = None) -> Labelled:
    """Tracks of ``model_name`` with a trusted genre (see trusted_labels) and their head input rows.

    ``input_name`` names the input (a saved head's); without one, the input a new head would choose.
    """
    if input_name is None:
        input_name, ids, vectors = head_inputs(session, model_name)
    else:
        ids, vectors = read_inputs(session, model_name, input_name)
    position = {int(t): n for n, t in enumerate(ids)}
    labels = trusted_labels(session)
    chosen = [t for t in labels if t in position]
    matrix = vectors[[position[t] for t in chosen]] if chosen else np.zeros((0, vectors.shape[1] if len(ids) else 0))
    genres, groups = [labels[t][0] for t in chosen], [labels[t][1] for t in chosen]
    return Labelled(input_name, np.array(chosen, dtype=np.int64), matrix, genres, groups)


def group_split(groups: list[str], labels: list[str], *, test_fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of test items: whole groups, about ``test_fraction`` of each class's groups, seeded.

    A class keeps at least one group for training, so a class with a single group is never tested.
    """
    rng = np.random.default_rng(seed)
    test_groups: set[str] = set()
    for label in sorted(set(labels)):
        unique = sorted({g for g, lab in zip(groups, labels, strict=True) if lab == label} - test_groups)
        rng.shuffle(unique)
        n_test = min(int(round(test_fraction * len(unique))), len(unique) - 1)
        test_groups.update(unique[:n_test])
    return np.array([g in test_groups for g in groups], dtype=bool)


def fit_softmax(
    x: np.ndarray, y: np.ndarray, n_classes: int, *, weight_decay: float = 1e-3, epochs: int = 300, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by full-batch Adam; returns (weights (d, c), bias (c,))."""
    torch.manual_seed(seed)
    xt, yt = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(y, np.int64))
    linear = torch.nn.Linear(xt.shape[1], n_classes)
    optimiser = torch.optim.Adam(linear.parameters(), lr=0.05, weight_decay=weight_decay)
    for _ in range(epochs):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(linear(xt), yt).backward()
        optimiser.step()
    return linear.weight.detach().numpy().T.copy(), linear.bias.detach().numpy().copy()


def fit_head(x: np.ndarray, y: np.ndarray, n_classes: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``fit_softmax`` on rows standardised with their own mean and spread, folded back into (weights, bias)
    that apply to raw rows: ``((x - m) / s) W + b == x (W / s) + (b - (m / s) W)``."""
    mean, spread = x.mean(axis=0), x.std(axis=0) + 1e-6
    weights, bias = fit_softmax((x - mean) / spread, y, n_classes, seed=seed)
    folded = weights / spread[:, None]
    return folded.astype(np.float32), (bias - mean @ folded).astype(np.float32)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of held-out logits (grid search)."""
    grid = np.exp(np.linspace(np.log(0.25), np.log(10.0), 60))
    losses = []
    for temperature in grid:
        z = logits / temperature
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        losses.append(-log_p[np.arange(len(y)), y].mean())
    return float(grid[int(np.argmin(losses))])


def probabilities(x: np.ndarray, weights: np.ndarray, bias: np.ndarray, temperature: float) -> np.ndarray:
    """Calibrated class probabilities of rows of ``x``."""
    z = (np.atleast_2d(x) @ weights + bias) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def train_genre_head(
    session: Session, models_dir: Path, *, model_name: str, test_fraction: float = 0.3, seed: int = 0
) -> GenreHeadMeta:
    """Train on labelled tracks, evaluate on held-out groups, refit on all, save weights + metadata."""
    input_name, _, x, genres, groups = labelled_tracks(session, model_name)
    classes = sorted(set(genres))
    if len(classes) < 2:
        raise NotFoundError(f"need labelled tracks of at least 2 genres, found {classes or 'none'}")
    y = np.array([classes.index(g) for g in genres])
    test = group_split(groups, genres, test_fraction=test_fraction, seed=seed)
    accuracy = f1 = None
    if test.any() and (~test).any():
        w, b = fit_head(x[~test], y[~test], len(classes), seed=seed)
        predicted = probabilities(x[test], w, b, 1.0).argmax(axis=1)
        accuracy = float(np.mean(predicted == y[test]))
        f1 = macro_f1(y[test], predicted, len(classes))
    calibration = group_split(groups, genres, test_fraction=0.2, seed=seed + 1)
    temperature = 1.0
    if calibration.any() and (~calibration).any():
        w, b = fit_head(x[~calibration], y[~calibration], len(classes), seed=seed)
        temperature = fit_temperature(x[calibration] @ w + b, y[calibration])
    weights, bias = fit_head(x, y, len(classes), seed=seed)
    version = hashlib.blake2b(weights.tobytes() + bias.tobytes(), digest_size=4).hexdigest()
    meta = GenreHeadMeta(
        version,
        model_name,
        classes,
        temperature,
        int((~test).sum()),
        int(test.sum()),
        accuracy,
        f1,
        test_fraction,
        seed,
        input_name,
    )
    models_dir.mkdir(parents=True, exist_ok=True)
    save_file({"weights": torch.from_numpy(weights), "bias": torch.from_numpy(bias)}, str(models_dir / HEAD_FILE))
    (models_dir / META_FILE).write_text(json.dumps(asdict(meta), indent=2))
    return meta


def load_genre_head(models_dir: Path) -> tuple[GenreHeadMeta, np.ndarray, np.ndarray]:
    """The saved head: metadata, weights and bias; NotFoundError before ``genres train``."""
    if not (models_dir / HEAD_FILE).exists():
        raise NotFoundError("no genre model yet (run `soundalike genres train`)")
    tensors = load_file(str(models_dir / HEAD_FILE))
    meta = GenreHeadMeta(**json.loads((models_dir / META_FILE).read_text()))
    return meta, tensors["weights"].numpy(), tensors["bias"].numpy()


def predict_genres(session: Session, models_dir: Path) -> int:
    """Tag every indexed track without a trusted genre (source ``predicted``); returns how many.

    Label, curator and tag rows are never touched; earlier predictions are replaced. A genre a curator
    rejected for a track is never predicted for it (the next most likely class is taken, with its own
    probability as confidence); a track whose every class was rejected gets no prediction.
    """
    meta, weights, bias = load_genre_head(models_dir)
    ids, vectors = read_inputs(session, meta.embedding_model, meta.input)
    trusted = set(trusted_labels(session))
    rejected = rejected_pairs(session)
    todo = [n for n, t in enumerate(ids) if int(t) not in trusted]
    if not todo:
        return 0
    probs = probabilities(vectors[todo], weights, bias, meta.temperature)
    todo_ids = [int(ids[n]) for n in todo]
    session.execute(delete(TrackGenre).where(TrackGenre.source == "predicted", TrackGenre.track_id.in_(todo_ids)))
    count = 0
    for track_id, p in zip(todo_ids, probs, strict=True):
        allowed = [c for c in np.argsort(-p) if (track_id, meta.classes[c]) not in rejected]
        if not allowed:
            continue
        best = int(allowed[0])
        set_track_genre(
            session,
            track_id,
            meta.classes[best],
            source="predicted",
            confidence=float(p[best]),
            model_version=meta.version,
        )
        count += 1
    return count


def held_out_predictions(
    session: Session, models_dir: Path
) -> tuple[GenreHeadMeta, np.ndarray, np.ndarray, np.ndarray]:
    """(meta, held-out track ids, true class indices, probabilities) on the saved head's group split.

    The head is refitted on the training side of the split it was evaluated on, so the held-out tracks
    were never seen in fitting.
    """
    meta, _, _ = load_genre_head(models_dir)
    _, ids, x, genres, groups = labelled_tracks(session, meta.embedding_model, meta.input)
    keep = [n for n, g in enumerate(genres) if g in meta.classes]
    ids, x = ids[keep], x[keep]
    genres, groups = [genres[n] for n in keep], [groups[n] for n in keep]
    y = np.array([meta.classes.index(g) for g in genres], dtype=np.int64)
    test = group_split(groups, genres, test_fraction=meta.test_fraction, seed=meta.seed)
    if not test.any() or test.all():
        raise NotFoundError("no held-out groups: label tracks of more albums or artists per genre")
    weights, bias = fit_head(x[~test], y[~test], len(meta.classes), seed=meta.seed)
    return meta, ids[test], y[test], probabilities(x[test], weights, bias, meta.temperature)
