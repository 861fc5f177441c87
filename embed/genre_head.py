"""Genre head: a calibrated softmax classifier trained on the curator's genres from tracks' audio representations.

The classes are the taxonomy (label and accepted curator genres, ``embed/genres.py``); file tags naming a
taxonomy genre are extra training rows, other file tags are ignored. The head's input is the embedding
model's tagging representation where it has one (MusiCNN: the pooled mid-level features, unit-norm, which
tag ~5 points better than its penultimate embedding, bench/RESULTS.md) and the embedding itself otherwise.
The head is an L2-regularised multinomial logistic regression on standardised inputs. Its L2 strength is
chosen (when enough rows are held out) on held-out groups: album, else artist, else the track itself, so one
album never sits on both sides; tracks when every class has a single group. The held-out groups are halved:
the L2 strength is chosen on one half, and the temperature and the open-set thresholds (``embed/open_set.py``)
are fitted on the other, which no setting was chosen on; the reported ECE is cross-fitted on that half
(``embed/calibration.py``). The saved head is refitted on every labelled track.

The tagger (``SOUNDALIKE_GENRE_TAGGER``) says which scores the temperature divides: the head's logits
(``head``), the log of the class distribution label spreading gives each track over the neighbour graph of
every catalogue row of the head's input (``spreading``, ``embed/label_spreading.py``: unlabelled tracks carry
information the head does not use), or their sum (``combined``: the product of the head's softmax and that
distribution). The temperature, the cross-fitted ECE and the confidence a successor needs are fitted on those
scores, the held-out tracks spread to from the training side only; the "none of these" distance is the head
input's, whatever the tagger.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple, get_args

import numpy as np
import torch
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from soundalike.embed.calibration import MIN_CALIBRATION, cross_fitted, fit_temperature, log_softmax
from soundalike.embed.checkpoint import load_checkpoint, save_checkpoint
from soundalike.embed.evaluation import expected_calibration_error, macro_f1
from soundalike.embed.genres import assigned_genres, evidence, genre_rows
from soundalike.embed.label_spreading import spread_labels
from soundalike.embed.musicnn_encoder import MODEL_NAME as MUSICNN
from soundalike.embed.musicnn_encoder import POOLED_FEATURE
from soundalike.embed.open_set import (
    DEFAULT_MIN_CONFIDENCE,
    class_directions,
    fit_max_distance,
    fit_min_confidence,
    genre_distance,
)
from soundalike.embed.review import rejected_pairs
from soundalike.embed.store import load_embeddings
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.db.models import CURATED_SOURCES, MACHINE_SOURCES, Track, TrackGenre
from soundalike.ingest.errors import ConfigError, PreconditionError
from soundalike.ingest.repository import feature_matrix, set_track_genre
from soundalike.ingest.settings import GenreTagger
from soundalike.ingest.tags import normalise_genre

HEAD_FILE = "genre-head.safetensors"
EMBEDDING_INPUT = "embedding"
TAGGING_FEATURES = {MUSICNN: POOLED_FEATURE}
TAGGERS: tuple[str, ...] = get_args(GenreTagger)
SPREAD_FLOOR = 1e-6
"""Added to a spreading distribution before its log, so a genre no label reached is unlikely, not impossible."""


DEFAULT_L2 = 1e-2
L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
"""The L2 strengths the held-out split chooses among."""

MIN_SELECTION = 30
"""Fewest held-out rows the L2 strength is chosen on; below it ``DEFAULT_L2`` is kept (choosing on ten
held-out tracks lost 4 accuracy points to the default on the rendered corpus, bench/RESULTS.md) and every
held-out row calibrates."""


@dataclass(frozen=True, kw_only=True)
class GenreHeadMeta:
    """What a trained head was trained on, the L2 strength held-out rows chose, and how well it did on them.

    Accuracy, F1 and ECE are measured on the calibration rows (held out, and no setting chosen on them):
    ``ece`` with cross-fitted temperatures, ``ece_uncalibrated`` at temperature 1; ``split`` says what was held
    out (groups, tracks or none). ``max_distance`` (None: no limit) and ``min_confidence`` are the open-set
    thresholds of ``embed/open_set.py``; ``tagger`` what the calls come from (``TAGGERS``).
    """

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
    l2: float = DEFAULT_L2
    split: str = "groups"
    ece: float | None = None
    ece_uncalibrated: float | None = None
    n_calibration: int = 0
    max_distance: float | None = None
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    tagger: str = "head"


class Label(NamedTuple):
    """A training label: the genre, the group the split keeps whole, where the genre came from, and the work (one
    piece: the same title on the same album) that a split by tracks keeps whole."""

    genre: str
    group: str
    source: str
    work: str


def training_labels(session: Session) -> dict[int, Label]:
    """Track id -> label for playable tracks with a label, accepted curator genre or taxonomy file tag.

    Precedence is label > curator > tag (``assigned_genres``); a genre a curator rejected for a track is
    never its label. The group is the album, else the artist, else the track itself; the work is the title on its
    album (excerpts, versions and copies of one piece), else the track itself.
    """
    assigned = assigned_genres(evidence(genre_rows(session)))
    tracks = session.execute(select(Track.id, Track.album, Track.artist, Track.title).where(Track.status == "ok"))
    labels = {}
    for track_id, album, artist, title in tracks:
        row = assigned.get(track_id)
        if row is not None:
            group = f"album:{album}" if album else f"artist:{artist}" if artist else f"track:{track_id}"
            work = f"work:{album or ''}/{title.strip().casefold()}" if title and title.strip() else f"track:{track_id}"
            labels[track_id] = Label(row.genre, group, row.source, work)
    return dict(sorted(labels.items()))


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
    """Labelled tracks (see ``training_labels``) as one head input reads them."""

    input: str
    track_ids: np.ndarray
    rows: np.ndarray
    genres: list[str]
    groups: list[str]
    sources: list[str]
    works: list[str]


def labelled_tracks(session: Session, model_name: str, input_name: str | None = None) -> Labelled:
    """Labelled tracks of ``model_name`` (see ``training_labels``) and their head input rows.

    ``input_name`` names the input (a saved head's); without one, the input a new head would choose.
    """
    if input_name is None:
        input_name, ids, vectors = head_inputs(session, model_name)
    else:
        ids, vectors = read_inputs(session, model_name, input_name)
    position = {int(t): n for n, t in enumerate(ids)}
    labels = training_labels(session)
    chosen = [t for t in labels if t in position]
    matrix = vectors[[position[t] for t in chosen]] if chosen else np.zeros((0, vectors.shape[1] if len(ids) else 0))
    return Labelled(
        input_name,
        np.array(chosen, dtype=np.int64),
        matrix,
        [labels[t].genre for t in chosen],
        [labels[t].group for t in chosen],
        [labels[t].source for t in chosen],
        [labels[t].work for t in chosen],
    )


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


class Split(NamedTuple):
    """Rows a held-out fit trains on, rows it is scored and calibrated on, and what was held out."""

    train: np.ndarray
    test: np.ndarray
    kind: str


def held_out_split(labelled: Labelled, *, test_fraction: float, seed: int) -> Split:
    """Hold out label and curator rows only (file-tag evidence is never scored), by whole groups.

    When no class has two groups (each album its own genre) works are held out instead (all tracks of one title on
    one album together, so no excerpt or copy of a held-out piece is trained on). Training rows exclude every row
    of a held-out group or work, file-tag evidence included.
    """
    curated = np.array([s in CURATED_SOURCES for s in labelled.sources], dtype=bool)
    at = np.flatnonzero(curated)
    genres = [labelled.genres[i] for i in at]
    groups = np.array(labelled.groups, dtype=object)
    kind, held = "groups", group_split(list(groups[at]), genres, test_fraction=test_fraction, seed=seed)
    if not held.any():
        kind = "tracks"
        held = group_split([labelled.works[i] for i in at], genres, test_fraction=test_fraction, seed=seed)
    test = np.zeros(len(curated), dtype=bool)
    test[at[held]] = True
    if not test.any():
        return Split(np.ones(len(curated), dtype=bool), test, "none")
    units = groups if kind == "groups" else np.array(labelled.works, dtype=object)
    train = ~test & ~np.isin(units, list(units[test]))
    return Split(train, test, kind)


def fit_softmax(
    x: np.ndarray, y: np.ndarray, n_classes: int, *, l2: float = DEFAULT_L2
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression: mean cross-entropy + ``l2``/2 * |weights|^2 (bias free), minimised
    by L-BFGS from zero (convex, so deterministic); returns (weights (d, c), bias (c,))."""
    xt, yt = torch.from_numpy(np.asarray(x, np.float64)), torch.from_numpy(np.asarray(y, np.int64))
    weights = torch.zeros((xt.shape[1], n_classes), dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS(
        [weights, bias], max_iter=500, tolerance_grad=1e-8, tolerance_change=1e-12, line_search_fn="strong_wolfe"
    )

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = torch.nn.functional.cross_entropy(xt @ weights + bias, yt) + 0.5 * l2 * (weights * weights).sum()
        value.backward()
        return value

    optimiser.step(loss)
    return weights.detach().numpy().astype(np.float32), bias.detach().numpy().astype(np.float32)


def fit_head(x: np.ndarray, y: np.ndarray, n_classes: int, *, l2: float = DEFAULT_L2) -> tuple[np.ndarray, np.ndarray]:
    """``fit_softmax`` on rows standardised with their own mean and spread, folded back into (weights, bias)
    that apply to raw rows: ``((x - m) / s) W + b == x (W / s) + (b - (m / s) W)``."""
    mean, spread = x.mean(axis=0), x.std(axis=0) + 1e-6
    weights, bias = fit_softmax((x - mean) / spread, y, n_classes, l2=l2)
    folded = weights / spread[:, None]
    return folded.astype(np.float32), (bias - mean @ folded).astype(np.float32)


def probabilities(x: np.ndarray, weights: np.ndarray, bias: np.ndarray, temperature: float) -> np.ndarray:
    """Calibrated class probabilities of rows of ``x`` (float64, so a near-certain call is not rounded to 1)."""
    logits = np.atleast_2d(np.asarray(x, np.float64)) @ np.asarray(weights, np.float64) + bias
    return np.exp(log_softmax(logits / temperature))


def spread_over(catalogue: tuple[np.ndarray, np.ndarray], seeds: dict[int, int], n_classes: int) -> np.ndarray:
    """Label spreading from ``seeds`` (track id -> class index) over every catalogue row (track ids, rows)."""
    ids, rows = catalogue
    return spread_labels(rows, np.array([seeds.get(int(t), -1) for t in ids], dtype=np.int64), n_classes)


def tagger_logits(tagger: str, logits: np.ndarray, spread: np.ndarray | None) -> np.ndarray:
    """The scores ``tagger``'s temperature divides, from the head's ``logits`` and the rows' spreading
    distribution: the logits, the distribution's log, or the log of their product (softmax x distribution)."""
    if tagger == "head" or spread is None:
        return logits
    spread_log = np.log(np.atleast_2d(spread) + SPREAD_FLOOR)
    return spread_log if tagger == "spreading" else log_softmax(np.atleast_2d(logits)) + spread_log


class HeldOut(NamedTuple):
    """One L2 strength's fit on the training side, scored on held-out rows."""

    l2: float
    logits: np.ndarray
    accuracy: float
    nll: float


def score_l2(x: np.ndarray, y: np.ndarray, n_classes: int, train: np.ndarray, test: np.ndarray, l2: float) -> HeldOut:
    """Fit on ``train`` rows, then score the ``test`` rows (NLL after a temperature fitted on them)."""
    weights, bias = fit_head(x[train], y[train], n_classes, l2=l2)
    logits = np.asarray(x[test], np.float64) @ weights + bias
    y_test = y[test]
    nll = float(-log_softmax(logits / fit_temperature(logits, y_test))[np.arange(len(y_test)), y_test].mean())
    return HeldOut(l2, logits, float(np.mean(logits.argmax(axis=1) == y_test)), nll)


class Calibration(NamedTuple):
    """The held-out fit: the split, the rows calibrated, the L2 strength and what was fitted on those rows.

    ``probs`` are the calibration rows' cross-fitted probabilities (each fold scaled by the temperature of
    the other), so scores computed from them are out of sample for the temperature too.
    """

    split: Split
    calibrate: np.ndarray
    l2: float
    logits: np.ndarray
    temperature: float
    probs: np.ndarray
    max_distance: float | None
    min_confidence: float


def halves(labelled: Labelled, split: Split, rows: np.ndarray, y: np.ndarray, *, seed: int) -> np.ndarray:
    """Mask over ``rows`` (indices of held-out rows): about half of each class's held-out units, whole groups."""
    units = [labelled.works[n] if split.kind == "tracks" else labelled.groups[n] for n in rows.tolist()]
    return group_split(units, [str(c) for c in y[rows]], test_fraction=0.5, seed=seed + 1)


def held_out_fit(
    labelled: Labelled,
    y: np.ndarray,
    n_classes: int,
    *,
    test_fraction: float,
    seed: int,
    l2: float | None = None,
    tagger: str = "head",
    catalogue: tuple[np.ndarray, np.ndarray] | None = None,
) -> Calibration:
    """Choose the L2 strength on one half of the held-out rows (``l2`` given: keep it) and calibrate on the other.

    With fewer than ``MIN_SELECTION + MIN_CALIBRATION`` held-out rows nothing is chosen (``DEFAULT_L2``) and
    every held-out row calibrates. Without held-out rows the temperature is 1 and there is no distance limit.
    A tagger other than the head calibrates its own scores (``tagger_logits``), spreading over ``catalogue``
    (track ids, head input rows of every track) from the training side's labels only.
    """
    x = labelled.rows
    split = held_out_split(labelled, test_fraction=test_fraction, seed=seed)
    held = np.flatnonzero(split.test)
    calibrate = split.test.copy()
    if len(held) >= MIN_SELECTION + MIN_CALIBRATION:
        select = np.zeros(len(y), dtype=bool)
        select[held[~halves(labelled, split, held, y, seed=seed)]] = True
        calibrate &= ~select
        if l2 is None:
            scored = [score_l2(x, y, n_classes, split.train, select, c) for c in L2_GRID]
            l2 = max(scored, key=lambda h: (h.accuracy, -h.nll)).l2
    l2 = DEFAULT_L2 if l2 is None else l2
    if not calibrate.any():
        empty = np.zeros((0, n_classes))
        return Calibration(split, calibrate, l2, empty, 1.0, empty, None, DEFAULT_MIN_CONFIDENCE)
    weights, bias = fit_head(x[split.train], y[split.train], n_classes, l2=l2)
    logits = np.asarray(x[calibrate], np.float64) @ weights + bias
    if tagger != "head" and catalogue is not None:
        seeds = {int(t): int(c) for t, c in zip(labelled.track_ids[split.train], y[split.train], strict=True)}
        spread = spread_over(catalogue, seeds, n_classes)
        position = {int(t): n for n, t in enumerate(catalogue[0])}
        logits = tagger_logits(tagger, logits, spread[[position[int(t)] for t in labelled.track_ids[calibrate]]])
    y_cal = y[calibrate]
    rows = np.flatnonzero(calibrate)
    probs = cross_fitted(logits, y_cal, halves(labelled, split, rows, y, seed=seed))
    directions = class_directions(x[split.train], y[split.train], n_classes)
    return Calibration(
        split,
        calibrate,
        l2,
        logits,
        fit_temperature(logits, y_cal),
        probs,
        fit_max_distance(genre_distance(x[calibrate], directions)),
        fit_min_confidence(probs.max(axis=1), probs.argmax(axis=1) == y_cal),
    )


def check_tagger(tagger: str) -> None:
    """A ConfigError naming ``tagger`` unless it is one of ``TAGGERS``."""
    if tagger not in TAGGERS:
        raise ConfigError(f"genre tagger {tagger!r} is not one of {', '.join(TAGGERS)} (SOUNDALIKE_GENRE_TAGGER)")


def train_genre_head(
    session: Session,
    models_dir: Path,
    *,
    model_name: str,
    test_fraction: float = 0.3,
    seed: int = 0,
    tagger: str = "head",
) -> GenreHeadMeta:
    """Choose the L2 strength, then fit ``tagger``'s temperature and the open-set thresholds on other held-out
    rows; refit on every label and save weights, class directions and metadata as one file."""
    check_tagger(tagger)
    labelled = labelled_tracks(session, model_name)
    classes = sorted(set(labelled.genres))
    if len(classes) < 2:
        labels = training_labels(session)
        raise PreconditionError(
            f"need labelled tracks of at least 2 genres with {model_name} inputs, found {classes or 'none'} "
            f"({len(labels)} labelled tracks, {len(labelled.track_ids)} of them embedded): label tracks of two "
            "genres or more first, from a path,genre file or by curator review"
        )
    x, y = labelled.rows, np.array([classes.index(g) for g in labelled.genres])
    catalogue = None if tagger == "head" else read_inputs(session, model_name, labelled.input)
    fit = held_out_fit(
        labelled, y, len(classes), test_fraction=test_fraction, seed=seed, tagger=tagger, catalogue=catalogue
    )
    accuracy = f1 = ece = ece_uncalibrated = None
    if fit.calibrate.any():
        y_cal = y[fit.calibrate]
        accuracy = float(np.mean(fit.probs.argmax(axis=1) == y_cal))
        f1 = macro_f1(y_cal, fit.probs.argmax(axis=1), len(classes))
        ece = expected_calibration_error(y_cal, fit.probs)
        ece_uncalibrated = expected_calibration_error(y_cal, np.exp(log_softmax(fit.logits)))
    weights, bias = fit_head(x, y, len(classes), l2=fit.l2)
    directions = class_directions(x, y, len(classes)).astype(np.float32)
    version = hashlib.blake2b(weights.tobytes() + bias.tobytes(), digest_size=4).hexdigest()
    meta = GenreHeadMeta(
        version=version,
        embedding_model=model_name,
        classes=classes,
        temperature=fit.temperature,
        n_train=int(fit.split.train.sum()),
        n_test=int(fit.split.test.sum()),
        accuracy=accuracy,
        macro_f1=f1,
        test_fraction=test_fraction,
        seed=seed,
        input=labelled.input,
        l2=fit.l2,
        split=fit.split.kind,
        ece=ece,
        ece_uncalibrated=ece_uncalibrated,
        n_calibration=int(fit.calibrate.sum()),
        max_distance=fit.max_distance,
        min_confidence=fit.min_confidence,
        tagger=tagger,
    )
    tensors = {
        "weights": torch.from_numpy(weights),
        "bias": torch.from_numpy(bias),
        "directions": torch.from_numpy(directions),
    }
    save_checkpoint(models_dir / HEAD_FILE, tensors, asdict(meta))
    return meta


class GenreHead(NamedTuple):
    """A saved head: metadata, weights, bias and the class directions its open-set distance is measured to."""

    meta: GenreHeadMeta
    weights: np.ndarray
    bias: np.ndarray
    directions: np.ndarray


def load_genre_head(models_dir: Path) -> GenreHead:
    """The saved head; NotFoundError before ``genres train``, PreconditionError for a head saved before open-set."""
    command = "soundalike genres train"
    tensors, meta = load_checkpoint(models_dir / HEAD_FILE, what="genre model", command=command)
    if "directions" not in tensors:
        raise PreconditionError(f"the genre model predates open-set calls: run `{command}` again")
    return GenreHead(
        GenreHeadMeta(**meta), tensors["weights"].numpy(), tensors["bias"].numpy(), tensors["directions"].numpy()
    )


class GenreCall(NamedTuple):
    """What the head says of one track: a genre (assigned, or only suggested) and its calibrated probability."""

    genre: str
    confidence: float
    assigned: bool


def call_probabilities(head: GenreHead, rows: np.ndarray, spread: np.ndarray | None = None) -> np.ndarray:
    """Calibrated class probabilities of the saved tagger for input ``rows`` and their spreading distributions."""
    logits = np.atleast_2d(np.asarray(rows, np.float64)) @ np.asarray(head.weights, np.float64) + head.bias
    return np.exp(log_softmax(tagger_logits(head.meta.tagger, logits, spread) / head.meta.temperature))


def genre_call(
    head: GenreHead, row: np.ndarray, rejected: set[str], spread: np.ndarray | None = None
) -> GenreCall | None:
    """The saved tagger's call for one input row (``spread``: its spreading distribution), never a genre in
    ``rejected`` (normalised names).

    The confidence is the call's probability among the genres the curator left open for the track. The most
    likely genre is assigned unless the row is farther from every genre than ``max_distance`` ("none of these").
    When the curator rejected it, its successor is assigned only if confident: at least ``min_confidence`` among
    the open genres, and at least ``1 - min_confidence`` before the rejection (the doubt a confident call keeps),
    so a rejected near-certain call never hands the track to a 0.08 runner-up. Label spreading alone assigns
    nothing to a track no label reaches. Any other call is a suggestion; None when every genre was rejected.
    """
    meta = head.meta
    probs = call_probabilities(head, row, spread)[0]
    order = [int(c) for c in np.argsort(-probs, kind="stable")]
    allowed = [c for c in order if normalise_genre(meta.classes[c]) not in rejected]
    if not allowed:
        return None
    best = allowed[0]
    confidence = float(probs[best] / probs[allowed].sum())
    fits = meta.max_distance is None or float(genre_distance(row, head.directions)[0]) <= meta.max_distance
    fits = fits and not (meta.tagger == "spreading" and spread is not None and not spread.any())
    successor_confident = confidence >= meta.min_confidence and probs[best] >= 1.0 - meta.min_confidence
    return GenreCall(meta.classes[best], confidence, fits and (best == order[0] or bool(successor_confident)))


def predict_genres(session: Session, models_dir: Path) -> int:
    """Tag every track the head can read that has no label or accepted curator genre; returns how many were
    assigned a genre (source ``predicted``).

    Calls ``genre_call`` does not assign are stored as suggestions (source ``suggested``): the track has no
    genre, and the call waits in the review queue. File tags neither stop nor steer a call. Label, curator and
    tag rows are never touched; earlier predictions and suggestions are replaced. A tagger that spreads labels
    spreads today's labels of the head's genres (``training_labels``) over every track the head can read.
    """
    head = load_genre_head(models_dir)
    ids, vectors = read_inputs(session, head.meta.embedding_model, head.meta.input)
    spread = None
    if head.meta.tagger != "head":
        classes = {genre: n for n, genre in enumerate(head.meta.classes)}
        seeds = {t: classes[label.genre] for t, label in training_labels(session).items() if label.genre in classes}
        spread = spread_over((ids, vectors), seeds, len(classes))
    curated = {r.track_id for r in genre_rows(session) if r.source in CURATED_SOURCES and not r.rejected}
    rejected: dict[int, set[str]] = {}
    for track_id, genre in rejected_pairs(session):
        rejected.setdefault(track_id, set()).add(normalise_genre(genre))
    if len(ids):
        session.execute(
            delete(TrackGenre).where(TrackGenre.source.in_(MACHINE_SOURCES), TrackGenre.track_id.in_(ids.tolist()))
        )
    count = 0
    for n, track_id in enumerate(int(t) for t in ids):
        if track_id in curated:
            continue
        call = genre_call(head, vectors[n], rejected.get(track_id, set()), None if spread is None else spread[n])
        if call is None:
            continue
        source = "predicted" if call.assigned else "suggested"
        set_track_genre(
            session, track_id, call.genre, source=source, confidence=call.confidence, model_version=head.meta.version
        )
        count += call.assigned
    return count


def held_out_predictions(
    session: Session, models_dir: Path
) -> tuple[GenreHeadMeta, np.ndarray, np.ndarray, np.ndarray]:
    """(meta, calibration track ids, true class indices, cross-fitted probabilities) on the saved head's split.

    The head is refitted, with its chosen L2 strength, on the training side of the split it was evaluated on, so
    the calibration tracks were never seen in fitting, nor was the L2 strength or their temperature chosen on them.
    """
    meta = load_genre_head(models_dir).meta
    labelled = labelled_tracks(session, meta.embedding_model, meta.input)
    keep = [n for n, g in enumerate(labelled.genres) if g in meta.classes]
    labelled = Labelled(
        labelled.input,
        labelled.track_ids[keep],
        labelled.rows[keep],
        *([field[n] for n in keep] for field in (labelled.genres, labelled.groups, labelled.sources, labelled.works)),
    )
    y = np.array([meta.classes.index(g) for g in labelled.genres], dtype=np.int64)
    catalogue = None if meta.tagger == "head" else read_inputs(session, meta.embedding_model, meta.input)
    fit = held_out_fit(
        labelled,
        y,
        len(meta.classes),
        test_fraction=meta.test_fraction,
        seed=meta.seed,
        l2=meta.l2,
        tagger=meta.tagger,
        catalogue=catalogue,
    )
    if not fit.calibrate.any():
        raise PreconditionError("no held-out tracks: label more tracks per genre")
    return meta, labelled.track_ids[fit.calibrate], y[fit.calibrate], fit.probs
