"""A style metric learnt from what the library already knows: a linear map of fusion vectors (``train project``).

Weak labels name the style a track shares with others: its album (the album tag, else its folder), its
artist, or its genre (a curator's label, else the file's genre tag). The map is the identity plus a low-rank
term, ``y = x + (x A) Bᵀ`` with B starting at zero, so it starts as the fusion embedding and learns which
directions to stretch (an LDA/NCA-style metric) under a supervised-contrastive loss: tracks of one label are
positives, other labels negatives, and excerpts of one track (``tracks``) neither, since that is identity,
not style.

Held-out label groups (whole albums; whole artists for artist labels) decide, by the rule ``adapt.decide``
applies to every trained head: same-label precision@10 among held-out tracks must rise by more than
``min_gain`` and than twice its standard error over held-out groups (so chance is not taken for style), and
excerpt recall@1 (two halves of each held-out track, embedded from audio) may fall by at most a tolerance.
A kept map serves as the embedding model ``fusion-projected``; its version is a digest of the
weights and of the fusion version it was trained on, so projected vectors are never searched with another
fit's, and a fusion refit asks for training again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from sqlalchemy import select
from sqlalchemy.orm import Session
from torch import nn
from torch.nn import functional as F

from soundalike.embed import fusion_features
from soundalike.embed.adapt import AdaptRecord, apply, decide, served_version
from soundalike.embed.checkpoint import load_checkpoint, save_checkpoint
from soundalike.embed.decodable import each_decodable
from soundalike.embed.evaluation import evaluate_retrieval, excerpt_neighbour_scores
from soundalike.embed.fusion import MODEL_NAME as FUSION
from soundalike.embed.fusion import PROJECTED_MODEL_NAME, load_fusion, parse_blocks
from soundalike.embed.genre_head import group_split
from soundalike.embed.genres import genre_rows
from soundalike.embed.store import embedding_version, load_embeddings, put_embeddings, replace_embeddings, stale_tracks
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.db.models import CURATED_SOURCES, Track
from soundalike.ingest.errors import ConfigError, PreconditionError
from soundalike.ingest.paths import from_db_path
from soundalike.ingest.settings import Settings

MODEL_NAME = PROJECTED_MODEL_NAME
CHECKPOINT_FILE = "fusion-projected.safetensors"
LabelKind = Literal["album", "artist", "genre"]
LABEL_KINDS: tuple[LabelKind, ...] = ("album", "artist", "genre")


@dataclass(frozen=True)
class ProjectConfig:
    """Hyper-parameters of the map, its training and the held-out decision."""

    labels: str = "auto"
    rank: int = 32
    steps: int = 300
    batch_classes: int = 16
    per_class: int = 4
    temperature: float = 0.1
    learning_rate: float = 1e-2
    test_fraction: float = 0.3
    min_gain: float = 0.01
    identity_tolerance: float = 0.02
    identity_tracks: int = 200
    seed: int = 0


class StyleMap(nn.Module):
    """``x + (x A) Bᵀ``: the identity plus a learnt rank-``rank`` term (B starts at zero)."""

    def __init__(self, dim: int, rank: int, *, seed: int = 0) -> None:
        """A map of ``dim``-d vectors; A starts as random orthonormal columns, B at zero."""
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        basis = torch.linalg.qr(torch.randn(dim, min(rank, dim), generator=generator)).Q
        self.down = nn.Parameter(basis.contiguous())
        self.up = nn.Parameter(torch.zeros(dim, basis.shape[1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The mapped rows (not unit-norm)."""
        return x + (x @ self.down) @ self.up.T


def supervised_contrastive(
    z: torch.Tensor, labels: torch.Tensor, tracks: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Mean over anchors with a positive of -log p(positive): same label, other track; one track's rows are left
    out of each other's denominators (identity is not style)."""
    same_track = tracks[:, None] == tracks[None, :]
    logits = (z @ z.T / temperature).masked_fill(same_track, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]) & ~same_track
    anchors = positive.any(dim=1)
    per_anchor = log_prob.masked_fill(~positive, 0.0).sum(dim=1)[anchors] / positive.sum(dim=1)[anchors]
    return -per_anchor.mean()


def _codes(values: list[str]) -> np.ndarray:
    return np.unique(np.asarray(values, dtype=object), return_inverse=True)[1].astype(np.int64)


def train_style_map(
    vectors: np.ndarray, labels: list[str], tracks: list[str] | None, config: ProjectConfig
) -> StyleMap:
    """Train the map on labelled rows; ``tracks`` groups rows of one track (None: every row its own track).

    Batches draw up to ``batch_classes`` labels and ``per_class`` rows of each. PreconditionError unless two
    labels each have two tracks.
    """
    tracks = tracks if tracks is not None else [str(n) for n in range(len(labels))]
    members: dict[str, list[int]] = {}
    for n, label in enumerate(labels):
        members.setdefault(label, []).append(n)
    usable = sorted(k for k, rows in members.items() if len({tracks[n] for n in rows}) >= 2)
    if len(usable) < 2:
        raise PreconditionError(
            f"need at least 2 labels with 2 tracks or more to learn a style, found {len(usable)} (add albums or labels)"
        )
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    x = torch.from_numpy(np.asarray(vectors, dtype=np.float32))
    label_codes, track_codes = torch.from_numpy(_codes(labels)), torch.from_numpy(_codes(tracks))
    style_map = StyleMap(x.shape[1], config.rank, seed=config.seed)
    optimiser = torch.optim.Adam(style_map.parameters(), lr=config.learning_rate)
    for _ in range(config.steps):
        chosen = rng.choice(len(usable), size=min(config.batch_classes, len(usable)), replace=False)
        rows = np.concatenate(
            [
                rng.choice(members[usable[c]], size=min(config.per_class, len(members[usable[c]])), replace=False)
                for c in chosen
            ]
        )
        batch = torch.from_numpy(rows)
        z = F.normalize(style_map(x[batch]), dim=1)
        loss = supervised_contrastive(z, label_codes[batch], track_codes[batch], config.temperature)
        if not torch.isfinite(loss):
            continue
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return style_map.eval()


def label_precisions(vectors: np.ndarray, labels: list[str], *, k: int = 10) -> np.ndarray:
    """Per row: the share of its label among its ``k`` nearest other rows; NaN where no other row has its label."""
    _, precision = excerpt_neighbour_scores(vectors, [str(n) for n in range(len(labels))], labels, k=k)
    counts = {label: labels.count(label) for label in set(labels)}
    return np.where([counts[label] >= 2 for label in labels], precision, np.nan)


def gain_noise(before: np.ndarray, after: np.ndarray, groups: list[str]) -> float:
    """Twice the standard error of the mean gain over held-out groups (each group's rows averaged first, since
    a group's tracks move together); infinite with fewer than two groups to compare."""
    gains = after - before
    means = [
        float(np.nanmean(gains[rows]))
        for rows in (np.flatnonzero(np.asarray(groups, dtype=object) == g) for g in sorted(set(groups)))
        if not np.all(np.isnan(gains[rows]))
    ]
    return 2 * float(np.std(means, ddof=1)) / np.sqrt(len(means)) if len(means) >= 2 else float("inf")


def held_out_scores(
    precisions: np.ndarray, halves: np.ndarray, items: np.ndarray, transform: Callable[[np.ndarray], np.ndarray]
) -> tuple[float | None, float | None]:
    """(mean same-label precision, excerpt recall@1 of the halves after ``transform``), None where unmeasured."""
    precision = float(np.nanmean(precisions)) if not np.all(np.isnan(precisions)) else None
    recall = evaluate_retrieval(transform(halves), items)["recall@1"] if len(set(items.tolist())) >= 2 else None
    return precision, recall


def fit_style_map(
    vectors: np.ndarray,
    labels: list[str],
    groups: list[str],
    halves_of: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    config: ProjectConfig,
    *,
    kind: LabelKind,
    base: str,
) -> tuple[StyleMap, AdaptRecord]:
    """Hold out whole ``groups``, train on the rest, score fusion and map on the held-out rows, decide.

    ``halves_of(rows)`` gives two excerpt vectors per held-out row it can (their item numbers alongside), the
    identity check. Genre labels hold out about ``test_fraction`` of each genre's groups; other labels
    ``test_fraction`` of all groups.
    """
    strata = labels if kind == "genre" else ["all"] * len(labels)
    held_out = group_split(groups, strata, test_fraction=config.test_fraction, seed=config.seed)
    train, test = np.flatnonzero(~held_out), np.flatnonzero(held_out)
    if len(test) < 2:
        raise PreconditionError(f"need at least 2 held-out tracks, found {len(test)} (add albums or tracks)")
    style_map = train_style_map(vectors[train], [labels[n] for n in train], None, config)
    halves, items = halves_of(test)
    test_labels, test_groups = [labels[n] for n in test], [groups[n] for n in test]
    before = label_precisions(unit_rows(vectors[test]), test_labels)
    after = label_precisions(apply(style_map)(vectors[test]), test_labels)
    key = f"{kind}_precision@10"
    scores = {}
    for name, precisions, transform in (("fusion", before, unit_rows), ("projected", after, apply(style_map))):
        precision, recall = held_out_scores(precisions, halves, items, transform)
        scores[name] = {key: precision, "recall@1": recall}
    needed = max(config.min_gain, gain_noise(before, after, test_groups))
    kept, reason = decide(
        scores["fusion"],
        scores["projected"],
        tolerance=config.identity_tolerance,
        min_gain=needed,
        goal=key,
        guard="recall@1",
    )
    state = _state(style_map)
    digest = hashlib.blake2b(b"".join(state[k].numpy().tobytes() for k in sorted(state)) + base.encode(), digest_size=4)
    settings = asdict(replace(config, labels=kind))
    record = AdaptRecord(
        f"project-{digest.hexdigest()}",
        kept,
        reason,
        scores["fusion"],
        scores["projected"],
        len(train),
        len(test),
        settings,
        base,
    )
    return style_map, record


def _state(style_map: StyleMap) -> dict[str, torch.Tensor]:
    return {k: v.detach().contiguous() for k, v in style_map.state_dict().items()}


@dataclass(frozen=True)
class WeakLabels:
    """Each track's weak labels (None where the library says nothing) and whether a curator chose its genre."""

    album: list[str]
    artist: list[str | None]
    genre: list[str | None]
    curated: list[bool]


def catalogue_labels(session: Session, track_ids: np.ndarray) -> WeakLabels:
    """The weak labels of these tracks: album tag (else the folder), artist tag, and genre (a curator's label or
    accepted suggestion, else a file tag)."""
    rows = {
        int(r.id): r
        for r in session.execute(
            select(Track.id, Track.path, Track.album, Track.artist).where(Track.id.in_([int(t) for t in track_ids]))
        )
    }
    curated: dict[int, str] = {}
    tagged: dict[int, str] = {}
    for row in genre_rows(session):
        if row.rejected:
            continue
        if row.source in CURATED_SOURCES:
            curated.setdefault(row.track_id, row.genre)
        elif row.source == "tag":
            tagged.setdefault(row.track_id, row.genre)
    ids = [int(t) for t in track_ids]
    return WeakLabels(
        album=[
            f"album:{rows[t].album}" if rows[t].album else f"folder:{from_db_path(rows[t].path).parent}" for t in ids
        ],
        artist=[rows[t].artist or None for t in ids],
        genre=[curated.get(t, tagged.get(t)) for t in ids],
        curated=[t in curated for t in ids],
    )


def _usable(labels: list[str | None]) -> int:
    counts: dict[str, int] = {}
    for label in labels:
        if label is not None:
            counts[label] = counts.get(label, 0) + 1
    return sum(1 for c in counts.values() if c >= 2)


def choose_labels(weak: WeakLabels, asked: str) -> tuple[LabelKind, list[str | None], list[str]]:
    """(kind, label per track, hold-out group per track) for ``asked`` (album, artist, genre or auto).

    ``auto`` takes a curator's genres when they name two genres of two tracks or more, else albums when two
    albums have two tracks, else artists. Groups are albums, or artists for artist labels.
    """
    by_kind: dict[LabelKind, list[str | None]] = {"album": list(weak.album), "artist": weak.artist, "genre": weak.genre}
    curated_genres = [g if c else None for g, c in zip(weak.genre, weak.curated, strict=True)]
    if asked == "auto":
        if _usable(curated_genres) >= 2:
            kind: LabelKind = "genre"
        else:
            kind = "album" if _usable(by_kind["album"]) >= 2 or _usable(by_kind["artist"]) < 2 else "artist"
    else:
        found = [k for k in LABEL_KINDS if k == asked]
        if not found:
            raise ConfigError(f"labels {asked!r} is not one of auto, {', '.join(LABEL_KINDS)}")
        kind = found[0]
    groups = [a or "" for a in weak.artist] if kind == "artist" else list(weak.album)
    return kind, by_kind[kind], groups


def project_catalogue(
    session: Session,
    settings: Settings,
    networks: fusion_features.Networks,
    config: ProjectConfig,
    *,
    on_track: Callable[[], None] | None = None,
) -> AdaptRecord:
    """Bring the fusion embeddings up to date, train and judge the map on the catalogue's weak labels, and save
    the record (with the weights only when kept)."""
    _, base = fusion_features.refresh_embeddings(session, settings, networks, on_track=on_track)
    ids, vectors, _ = load_embeddings(session, FUSION)
    kind, labels, groups = choose_labels(catalogue_labels(session, ids), config.labels)
    labelled = np.array([label is not None for label in labels], dtype=bool)
    ids, vectors = ids[labelled], vectors[labelled]
    query = select(Track.id, Track.path).where(Track.id.in_([int(t) for t in ids]))
    paths = {int(track_id): path for track_id, path in session.execute(query)}
    blocks = parse_blocks(settings.fusion_blocks)
    fitted = load_fusion(settings.models_dir, blocks)

    def halves_of(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(config.seed)
        picked = sorted(rng.choice(rows, size=min(config.identity_tracks, len(rows)), replace=False).tolist())
        found = each_decodable(
            picked,
            lambda n: fitted.embed(
                fusion_features.audio_features(from_db_path(paths[int(ids[n])]), blocks, settings, networks, parts=2)
            ),
            on_item=on_track,
        )
        pairs = list(found)
        if not pairs:
            return np.zeros((0, fitted.layout.dim), dtype=np.float32), np.zeros(0, dtype=np.int64)
        return np.vstack([v for _, v in pairs]), np.repeat([n for n, _ in pairs], 2)

    style_map, record = fit_style_map(
        vectors,
        [str(label) for label, keep in zip(labels, labelled, strict=True) if keep],
        [g for g, keep in zip(groups, labelled, strict=True) if keep],
        halves_of,
        config,
        kind=kind,
        base=base,
    )
    save_checkpoint(settings.models_dir / CHECKPOINT_FILE, _state(style_map) if record.kept else {}, asdict(record))
    return record


def load_projection(models_dir: Path, base: str) -> tuple[AdaptRecord, StyleMap]:
    """The last kept map, trained on fusion version ``base``; refuses a missing, discarded or out-of-date one."""
    state, saved = load_checkpoint(
        models_dir / CHECKPOINT_FILE, what="style projection", command="soundalike train project"
    )
    record = AdaptRecord(**saved)
    if not record.kept:
        raise ConfigError(
            f"the last style projection ({record.version}) was discarded on held-out tracks ({record.reason}); "
            "use embedding model fusion, or train again"
        )
    if record.base != base:
        raise ConfigError(
            f"the style projection was trained on fusion version {record.base}, the catalogue's fusion is now {base} "
            "(run `soundalike train project` again)"
        )
    dim, rank = state["up"].shape
    style_map = StyleMap(int(dim), int(rank))
    style_map.load_state_dict(state)
    return record, style_map.eval()


def refresh_embeddings(
    session: Session,
    settings: Settings,
    networks: fusion_features.Networks,
    *,
    on_track: Callable[[], None] | None = None,
) -> tuple[int, str]:
    """Bring the fusion embeddings up to date and store the kept map's image of every one lacking it."""
    _, base = fusion_features.refresh_embeddings(session, settings, networks, on_track=on_track)
    record, style_map = load_projection(settings.models_dir, base)
    version = served_version(record)
    ids, vectors, _ = load_embeddings(session, FUSION)
    if embedding_version(session, MODEL_NAME) != version:
        return replace_embeddings(session, MODEL_NAME, version, ids, apply(style_map)(vectors)), version
    stale = np.isin(ids, [track_id for track_id, _ in stale_tracks(session, MODEL_NAME, version)])
    return put_embeddings(session, MODEL_NAME, version, ids[stale], apply(style_map)(vectors[stale])), version
