"""Adapting MusiCNN to the catalogue: a projection head on patch embeddings, trained contrastively.

Two disjoint random sets of patches of one track are positives, other tracks in the batch negatives
(symmetric InfoNCE). Held-out tracks (whole album groups) decide whether the head is kept: it must
retrieve other excerpts of the same track better than the plain backbone without losing same-album
precision beyond a tolerance. The decision and both sets of scores are recorded with the version.
A kept head serves as the embedding model ``musicnn-adapted``: the head applied to the mean MusiCNN
penultimate features of a track's patches (ingest patch policy), L2-normalised. A discarded one is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from sqlalchemy import select
from sqlalchemy.orm import Session
from torch import nn
from torch.nn import functional as F

from soundalike.embed.checkpoint import load_checkpoint, save_checkpoint
from soundalike.embed.evaluation import evaluate_retrieval, group_precision
from soundalike.embed.genre_head import group_split
from soundalike.embed.musicnn import MusiCNN, load_musicnn
from soundalike.embed.musicnn_frontend import (
    LOOPED_NOTE,
    SAMPLE_RATE,
    is_short,
    musicnn_logmel,
    musicnn_patches,
    patches,
)
from soundalike.embed.patch_embeddings import patch_embeddings
from soundalike.embed.store import embed_stale_tracks
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.audio import load
from soundalike.ingest.db.models import Track
from soundalike.ingest.errors import ConfigError, DecodeError, PreconditionError
from soundalike.ingest.paths import from_db_path
from soundalike.ingest.repository import add_track_note
from soundalike.ingest.settings import Settings

MODEL_NAME = "musicnn-adapted"
CHECKPOINT_FILE = "musicnn-adapted.safetensors"
MAX_TRACK_PATCHES = 16


@dataclass(frozen=True)
class AdaptConfig:
    """Hyper-parameters of the projection and its contrastive training."""

    out_dim: int = 128
    steps: int = 300
    batch_tracks: int = 32
    temperature: float = 0.1
    learning_rate: float = 1e-3
    test_fraction: float = 0.3
    album_tolerance: float = 0.02
    seed: int = 0


@dataclass(frozen=True)
class AdaptRecord:
    """One adaptation run: its version, the held-out scores of backbone and head, and the decision."""

    version: str
    kept: bool
    reason: str
    baseline: dict[str, float | None]
    adapted: dict[str, float | None]
    n_train: int
    n_held_out: int
    config: dict[str, object]
    base: str = ""
    """The embedding version the head was trained on, where it reads stored vectors (``fusion-projected``)."""


def projection(in_dim: int, out_dim: int) -> nn.Module:
    """Two-layer MLP projection head."""
    return nn.Sequential(nn.Linear(in_dim, in_dim), nn.ReLU(), nn.Linear(in_dim, out_dim))


def held_out_scores(
    per_track: list[np.ndarray], groups: list[str], transform: Callable[[np.ndarray], np.ndarray]
) -> dict[str, float | None]:
    """Excerpt recall@1/@10 and mAP (two halves of each track) and same-group precision@10 after ``transform``."""
    halves: list[np.ndarray] = []
    items: list[int] = []
    for n, patch_matrix in enumerate(per_track):
        if len(patch_matrix) >= 2:
            halves.extend(part.mean(axis=0) for part in np.array_split(patch_matrix, 2))
            items.extend([n, n])
    scores: dict[str, float | None] = {}
    if len(set(items)) >= 2:
        scores.update(evaluate_retrieval(transform(np.stack(halves)), np.array(items)))
    tracks = transform(np.stack([m.mean(axis=0) for m in per_track]))
    scores["album_precision@10"] = group_precision(tracks, list(groups))
    return scores


METRIC_NAMES = {
    "recall@1": "excerpt recall@1",
    "album_precision@10": "same-album precision",
    "artist_precision@10": "same-artist precision",
    "genre_precision@10": "same-genre precision",
}
"""How a decision's reason names a held-out score (others are named as they are keyed)."""


def decide(
    baseline: dict[str, float | None],
    adapted: dict[str, float | None],
    *,
    tolerance: float,
    min_gain: float = 0.0,
    goal: str = "recall@1",
    guard: str = "album_precision@10",
) -> tuple[bool, str]:
    """Keep a trained head only if the held-out ``goal`` score rises by more than ``min_gain`` and ``guard`` drops by
    at most ``tolerance``.

    Contrastive adaptation aims at excerpt recall and guards same-album precision; a style projection the
    reverse. Either score missing (too few held-out tracks to measure it) refuses the head.
    """
    for key in (goal, guard):
        if baseline.get(key) is None or adapted.get(key) is None:
            return False, f"too few held-out tracks to measure {METRIC_NAMES.get(key, key)}"
    base_goal, new_goal = float(baseline[goal]), float(adapted[goal])  # type: ignore[arg-type]
    base_guard, new_guard = float(baseline[guard]), float(adapted[guard])  # type: ignore[arg-type]
    goal_name, guard_name = METRIC_NAMES.get(goal, goal), METRIC_NAMES.get(guard, guard)
    if new_goal <= base_goal + min_gain:
        by = f" by more than {min_gain:.3f}" if min_gain > 0 else ""
        return False, f"{goal_name} did not improve{by} ({base_goal:.3f} -> {new_goal:.3f})"
    if new_guard < base_guard - tolerance:
        return False, f"{guard_name} fell ({base_guard:.3f} -> {new_guard:.3f})"
    return True, f"{goal_name} {base_goal:.3f} -> {new_goal:.3f}, {guard_name} {base_guard:.3f} -> {new_guard:.3f}"


def train_projection(per_track: list[np.ndarray], config: AdaptConfig) -> nn.Module:
    """Contrastive training of a projection on tracks' patch embeddings (tracks need >= 2 patches)."""
    usable = [m for m in per_track if len(m) >= 2]
    if len(usable) < 2:
        raise PreconditionError(f"need at least 2 training tracks with 2 patches or more, found {len(usable)}")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    head = projection(usable[0].shape[1], config.out_dim)
    optimiser = torch.optim.Adam(head.parameters(), lr=config.learning_rate)
    for _ in range(config.steps):
        batch = rng.choice(len(usable), size=min(config.batch_tracks, len(usable)), replace=False)
        views = []
        for n in batch:
            order = rng.permutation(len(usable[n]))
            cut = int(rng.integers(1, len(order)))
            views.append((usable[n][order[:cut]].mean(axis=0), usable[n][order[cut:]].mean(axis=0)))
        a = F.normalize(head(torch.from_numpy(np.stack([v[0] for v in views]).astype(np.float32))), dim=1)
        b = F.normalize(head(torch.from_numpy(np.stack([v[1] for v in views]).astype(np.float32))), dim=1)
        logits = a @ b.T / config.temperature
        target = torch.arange(len(batch))
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return head.eval()


def apply(head: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """A trained map (this adaptation's head, or the style projection) as a function of (n, d) arrays to unit-norm
    rows."""

    def transform(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return unit_rows(head(torch.from_numpy(np.asarray(x, dtype=np.float32))).numpy())

    return transform


def adapt(per_track: list[np.ndarray], groups: list[str], config: AdaptConfig) -> tuple[nn.Module, AdaptRecord]:
    """Split by group, train on one side, score backbone and head on the other, decide."""
    held_out = group_split(groups, ["all"] * len(groups), test_fraction=config.test_fraction, seed=config.seed)
    train = [m for m, h in zip(per_track, held_out, strict=True) if not h]
    test = [m for m, h in zip(per_track, held_out, strict=True) if h]
    test_groups = [g for g, h in zip(groups, held_out, strict=True) if h]
    if len(test) < 2:
        raise PreconditionError(f"need at least 2 held-out tracks, found {len(test)} (add albums or tracks)")
    head = train_projection(train, config)
    baseline = held_out_scores(test, test_groups, unit_rows)
    adapted = held_out_scores(test, test_groups, apply(head))
    kept, reason = decide(baseline, adapted, tolerance=config.album_tolerance)
    state = {k: v.detach().contiguous() for k, v in head.state_dict().items()}
    digest = hashlib.blake2b(b"".join(state[k].numpy().tobytes() for k in sorted(state)), digest_size=4)
    record = AdaptRecord(
        f"adapt-{digest.hexdigest()}", kept, reason, baseline, adapted, len(train), len(test), asdict(config)
    )
    return head, record


def catalogue_patch_embeddings(
    session: Session, settings: Settings, *, on_track: Callable[[], None] | None = None
) -> tuple[list[np.ndarray], list[str]]:
    """Per ok track: MusiCNN penultimate embeddings of up to MAX_TRACK_PATCHES patches, and its album group."""
    model = load_musicnn("MSD_musicnn")
    per_track, groups = [], []
    rows = session.execute(select(Track.id, Track.path, Track.album).where(Track.status == "ok").order_by(Track.id))
    for track_id, path, album in rows:
        try:
            all_patches = patches(musicnn_logmel(y=load(from_db_path(path), sr=SAMPLE_RATE).samples))
            if len(all_patches) > MAX_TRACK_PATCHES:
                all_patches = all_patches[np.linspace(0, len(all_patches) - 1, MAX_TRACK_PATCHES).astype(int)]
            if len(all_patches):
                per_track.append(patch_embeddings(model, all_patches))
                groups.append(f"album:{album}" if album else f"track:{track_id}")
        except (DecodeError, OSError):
            pass
        finally:
            if on_track is not None:
                on_track()
    return per_track, groups


def save_adaptation(models_dir: Path, head: nn.Module, record: AdaptRecord) -> None:
    """Write the record and, only when the head is kept, its weights, as one checkpoint."""
    state = {k: v.detach().contiguous() for k, v in head.state_dict().items()} if record.kept else {}
    save_checkpoint(models_dir / CHECKPOINT_FILE, state, asdict(record))


def adapt_catalogue(
    session: Session, settings: Settings, config: AdaptConfig, *, on_track: Callable[[], None] | None = None
) -> AdaptRecord:
    """Run :func:`adapt` on the catalogue; record the decision as JSON, save the head only when kept."""
    per_track, groups = catalogue_patch_embeddings(session, settings, on_track=on_track)
    head, record = adapt(per_track, groups, config)
    save_adaptation(settings.models_dir, head, record)
    return record


def served_version(record: AdaptRecord) -> str:
    """The embedding model version of a kept head or style map: its record's digest and the decision."""
    return f"{record.version}-kept"


def load_adapted(models_dir: Path) -> tuple[AdaptRecord, nn.Module]:
    """The last adaptation's record and its head in eval mode; refuses a missing or discarded one."""
    state, saved = load_checkpoint(
        models_dir / CHECKPOINT_FILE, what="adapted MusiCNN", command="soundalike train adapt"
    )
    record = AdaptRecord(**saved)
    if not record.kept:
        raise ConfigError(
            f"the last adaptation ({record.version}) was discarded on held-out tracks ({record.reason}); "
            "use embedding model musicnn-msd, or train again"
        )
    out_dim, in_dim = state["2.weight"].shape[0], state["0.weight"].shape[1]
    head = projection(in_dim, out_dim)
    head.load_state_dict(state)
    return record, head.eval()


def adapted_vector(backbone: MusiCNN, head: nn.Module, y: np.ndarray) -> np.ndarray:
    """Unit-norm head output for the mean penultimate features of 16 kHz audio's patches."""
    per_patch = patch_embeddings(backbone, musicnn_patches(y=y))
    if not len(per_patch):
        raise DecodeError("no audio to embed")
    return apply(head)(per_patch.mean(axis=0, keepdims=True))[0]


def refresh_embeddings(
    session: Session,
    settings: Settings,
    backbone: MusiCNN,
    *,
    on_track: Callable[[], None] | None = None,
) -> tuple[int, str]:
    """Embed the ok tracks that lack an embedding of the kept head; returns (count, version)."""
    record, head = load_adapted(settings.models_dir)
    version = served_version(record)

    def embed_track(track_id: int, path: Path) -> np.ndarray:
        samples = load(path, sr=SAMPLE_RATE, max_bytes=settings.max_file_bytes).samples
        if is_short(len(samples)):
            add_track_note(session, track_id, LOOPED_NOTE)
        return adapted_vector(backbone, head, samples)

    return embed_stale_tracks(session, MODEL_NAME, version, embed_track, on_track=on_track), version
