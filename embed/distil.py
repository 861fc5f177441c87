"""Distil MusiCNN-MSD into the small ``student.Student``: data, cached teacher outputs, training, fidelity.

Recipe (``soundalike train distil``): patches of the recordings under the training folders (each folder
a package or album; no folder on both sides), the teacher's pooled features, penultimate layer and tags
for each patch computed once and cached, then the student regresses the standardised pooled features and
penultimate layer (MSE + cosine) and the tags (binary cross-entropy), through a frozen copy of the
teacher's back end, each target weighted as the fusion embedding weighs its block (``loss_weights``).
Fidelity is measured on the held-out folders only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from soundalike.embed.fusion import parse_blocks
from soundalike.embed.musicnn import MusiCNN
from soundalike.embed.musicnn_encoder import BATCH_PATCHES
from soundalike.embed.musicnn_frontend import SAMPLE_RATE, musicnn_patches
from soundalike.embed.student import Student, multiply_adds, save_student
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.atomic_files import atomic_write_npz
from soundalike.ingest.audio import load
from soundalike.ingest.errors import ConfigError, DecodeError
from soundalike.ingest.scan import scan

TARGETS = ("pooled", "penultimate", "tags")


@dataclass(frozen=True)
class DistilConfig:
    """Training recipe; the defaults are the ones the shipped weights were trained with."""

    epochs: int = 12
    batch: int = 128
    """Patches per training step; the relation loss compares every pair in a batch, so a larger batch gives it more
    pairs of different tracks."""
    learning_rate: float = 3e-3
    width: int = 24
    patches_per_track: int = 32
    held_out_patches: int = 16
    seed: int = 0
    pooled_weight: float = 1.0
    """Weight of the pooled features in the loss: the fusion's ``musicnn`` block weight."""
    penultimate_weight: float = 0.5
    """Weight of the penultimate layer: the fusion's ``penultimate`` block weight."""
    tags_weight: float = 0.1
    """Weight of the tags (read only by moods)."""
    relation_weight: float = 5.0
    """Weight of matching each batch's cosine similarities between patches (pooled features) to the teacher's:
    what retrieval reads, beside each vector's own distance to the teacher's."""
    track_patches: int = 1
    """Patches of one track that sit together in a batch: above 1, the relation loss also sees how the patches
    of one track resemble each other, what same-track retrieval reads."""


def loss_weights(fusion_blocks: str) -> dict[str, float]:
    """``pooled_weight`` and ``penultimate_weight`` as the fusion embedding ``fusion_blocks`` weighs those blocks
    (0 for a block it does not read)."""
    weights = {spec.name: spec.weight for spec in parse_blocks(fusion_blocks)}
    return {"pooled_weight": weights.get("musicnn", 0.0), "penultimate_weight": weights.get("penultimate", 0.0)}


@dataclass(frozen=True)
class PatchSet:
    """Log-mel patches of some tracks with the teacher's outputs for each patch."""

    patches: np.ndarray
    """(n, 187, 96) float16 log-mel patches."""
    track: np.ndarray
    """(n,) index into ``paths`` of each patch's track."""
    paths: list[str]
    groups: list[str]
    """The folder (package, album) of each track."""
    targets: dict[str, np.ndarray]
    """The teacher's "pooled" (n, 1506), "penultimate" (n, 200) and "tags" (n, 50), float32."""


def check_disjoint(train: Sequence[Path], held_out: Sequence[Path]) -> None:
    """Refuse a folder on both sides, or one inside another across the sides."""
    for a in train:
        for b in held_out:
            ra, rb = a.resolve(), b.resolve()
            if ra == rb or ra in rb.parents or rb in ra.parents:
                raise ConfigError(f"{a} and {b} overlap: no folder may be both trained on and held out")


def teacher_outputs(teacher: nn.Module, patches: np.ndarray) -> dict[str, np.ndarray]:
    """The teacher's pooled, penultimate and tag outputs of each patch, float32, on the CPU."""
    out: dict[str, list[np.ndarray]] = {name: [] for name in TARGETS}
    weight = next(teacher.parameters(), None)
    device = weight.device if weight is not None else torch.device("cpu")
    with torch.inference_mode():
        for lo in range(0, len(patches), BATCH_PATCHES):
            batch = torch.from_numpy(np.asarray(patches[lo : lo + BATCH_PATCHES], dtype=np.float32)).to(device)
            result = teacher(batch)
            for name in TARGETS:
                out[name].append(getattr(result, name).float().cpu().numpy())
    return {name: np.concatenate(parts) for name, parts in out.items()}


def _fingerprint(files: list[Path], per_track: int) -> str:
    h = hashlib.sha256(f"{per_track}".encode())
    for path in files:
        stat = path.stat()
        h.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def collect(
    folders: Sequence[Path],
    teacher: nn.Module,
    *,
    per_track: int,
    cache_dir: Path,
    on_track: Callable[[], None] | None = None,
) -> PatchSet:
    """Patches of every decodable recording under ``folders`` and the teacher's outputs, cached by content.

    Each file is decoded as ingestion decodes it (its analysis policy, 16 kHz) and gives at most
    ``per_track`` patches spread over it; files that do not decode are left out.
    """
    files = sorted(set(scan(folders, follow_symlinks=True)))
    cache = cache_dir / f"distil-{_fingerprint(files, per_track)}.npz"
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as saved:
            meta = json.loads(str(saved["meta"]))
            return PatchSet(
                saved["patches"],
                saved["track"],
                meta["paths"],
                meta["groups"],
                {name: saved[name] for name in TARGETS},
            )
    chunks: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    paths: list[str] = []
    groups: list[str] = []
    for path in files:
        try:
            cut = musicnn_patches(y=load(path, sr=SAMPLE_RATE).samples, limit=per_track)
        except (DecodeError, OSError):
            cut = np.zeros((0,))
        if len(cut):
            owners.append(np.full(len(cut), len(paths)))
            chunks.append(cut.astype(np.float16))
            paths.append(str(path))
            groups.append(next(str(f) for f in folders if f.resolve() in path.resolve().parents or f == path))
        if on_track is not None:
            on_track()
    if not chunks:
        raise DecodeError(f"no decodable recording under {', '.join(map(str, folders))}")
    patches = np.concatenate(chunks)
    targets = teacher_outputs(teacher, patches)
    meta = np.array(json.dumps({"paths": paths, "groups": groups}))
    arrays: dict[str, Any] = {"patches": patches, "track": np.concatenate(owners), "meta": meta, **targets}
    atomic_write_npz(cache, arrays)
    return PatchSet(patches, np.concatenate(owners), paths, groups, targets)


def _standard(values: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(values.mean(axis=0)), torch.from_numpy(values.std(axis=0) + 1e-4)


def _match(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(predicted, target) + (1 - F.cosine_similarity(predicted, target, dim=1)).mean()


def relation_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between the two batches' patch-to-patch cosine-similarity matrices."""
    a, b = F.normalize(predicted, dim=1), F.normalize(target, dim=1)
    return F.mse_loss(a @ a.T, b @ b.T)


def track_grouped_order(track: np.ndarray, per_group: int, rng: np.random.Generator) -> np.ndarray:
    """Every row once, in runs of ``per_group`` rows of one track (a track's last run may be shorter), runs in
    random order; ``per_group`` 1 is a plain permutation."""
    if per_group <= 1:
        return rng.permutation(len(track))
    runs: list[np.ndarray] = []
    for t in np.unique(track):
        rows = rng.permutation(np.flatnonzero(track == t))
        runs += [rows[lo : lo + per_group] for lo in range(0, len(rows), per_group)]
    return np.concatenate([runs[i] for i in rng.permutation(len(runs))])


def train_student(
    data: PatchSet,
    teacher: MusiCNN,
    config: DistilConfig,
    *,
    on_epoch: Callable[[int, float], None] | None = None,
) -> Student:
    """A student trained to reproduce the teacher's outputs on ``data`` (CPU, Adam, one-cycle schedule)."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    student = Student(width=config.width)
    student.back.copy_from(teacher)
    pooled_mean, pooled_std = _standard(data.targets["pooled"])
    pen_mean, pen_std = _standard(data.targets["penultimate"])
    student.pooled_mean.copy_(pooled_mean)
    student.pooled_std.copy_(pooled_std)
    pooled_z = (torch.from_numpy(data.targets["pooled"]) - pooled_mean) / pooled_std
    pen_z = (torch.from_numpy(data.targets["penultimate"]) - pen_mean) / pen_std
    tags = torch.from_numpy(data.targets["tags"])
    trainable = [p for p in student.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=1e-4)
    steps = config.epochs * max(1, -(-len(data.patches) // config.batch))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.learning_rate, total_steps=steps)
    for epoch in range(1, config.epochs + 1):
        student.train()
        student.back.eval()
        order = track_grouped_order(data.track, config.track_patches, rng)
        losses = []
        for lo in range(0, len(order), config.batch):
            rows = order[lo : lo + config.batch]
            if len(rows) < 2:
                continue
            x = torch.from_numpy(np.asarray(data.patches[rows], dtype=np.float32))
            z = student.standardised_pooled(x)
            penultimate, predicted_tags = student.back(z * pooled_std + pooled_mean)
            loss = (
                config.pooled_weight * _match(z, pooled_z[rows])
                + config.penultimate_weight * _match((penultimate - pen_mean) / pen_std, pen_z[rows])
                + config.tags_weight * F.binary_cross_entropy(predicted_tags.clamp(1e-6, 1 - 1e-6), tags[rows])
            )
            if config.relation_weight:
                loss = loss + config.relation_weight * relation_loss(z, pooled_z[rows])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
        if on_epoch is not None:
            on_epoch(epoch, float(np.mean(losses)) if losses else float("nan"))
    return student.eval()


def _track_means(values: np.ndarray, track: np.ndarray, n_tracks: int) -> np.ndarray:
    return np.stack([values[track == t].mean(axis=0) for t in range(n_tracks)])


def _same_track_recall(values: np.ndarray, track: np.ndarray, n_tracks: int) -> float:
    """R@1 of "the other half of this track": first and second half of each track's patches, cosine."""
    firsts, seconds = [], []
    for t in range(n_tracks):
        rows = values[track == t]
        half = max(1, len(rows) // 2)
        firsts.append(rows[:half].mean(axis=0))
        seconds.append(rows[half:].mean(axis=0) if len(rows) > 1 else rows[0])
    similarity = unit_rows(np.stack(firsts)) @ unit_rows(np.stack(seconds)).T
    return float(np.mean(similarity.argmax(axis=1) == np.arange(n_tracks)))


def _same_group_precision(values: np.ndarray, groups: list[str], k: int = 5) -> float:
    """Precision@k of tracks from the same folder (album, package) among each track's nearest neighbours."""
    vectors = unit_rows(values)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    labels = np.array(groups)
    nearest = np.argsort(-similarity, axis=1)[:, :k]
    return float(np.mean(labels[nearest] == labels[:, None]))


def student_outputs(student: Student, patches: np.ndarray) -> dict[str, np.ndarray]:
    """The student's outputs for each patch, as ``teacher_outputs`` gives the teacher's."""
    return teacher_outputs(student, patches)


def fidelity(student: Student, held_out: PatchSet) -> dict[str, float]:
    """How closely the student reproduces the teacher on held-out tracks, with retrieval for both."""
    predicted = student_outputs(student, held_out.patches)
    teacher = held_out.targets
    n = len(held_out.paths)
    scores: dict[str, float] = {}
    for name in ("penultimate", "pooled"):
        mean, std = teacher[name].mean(axis=0), teacher[name].std(axis=0) + 1e-4
        t_tracks = _track_means(teacher[name], held_out.track, n)
        s_tracks = _track_means(predicted[name], held_out.track, n)
        scores[f"{name}_track_cosine"] = float(np.mean(np.sum(unit_rows(t_tracks) * unit_rows(s_tracks), axis=1)))
        t_z, s_z = (t_tracks - mean) / std, (s_tracks - mean) / std
        scores[f"{name}_track_cosine_standardised"] = float(np.mean(np.sum(unit_rows(t_z) * unit_rows(s_z), axis=1)))
        for who, values in (("teacher", teacher[name]), ("student", predicted[name])):
            z = (values - mean) / std
            scores[f"{name}_same_track_r1_{who}"] = _same_track_recall(z, held_out.track, n)
            scores[f"{name}_same_folder_p5_{who}"] = _same_group_precision(
                _track_means(z, held_out.track, n), held_out.groups
            )
    t_tags, s_tags = (_track_means(v["tags"], held_out.track, n) for v in (teacher, predicted))
    scores["tags_mean_abs_error"] = float(np.abs(t_tags - s_tags).mean())
    top_t, top_s = np.argsort(-t_tags, axis=1)[:, :5], np.argsort(-s_tags, axis=1)[:, :5]
    scores["tags_top5_overlap"] = float(np.mean([len(set(a) & set(b)) / 5 for a, b in zip(top_t, top_s, strict=True)]))
    return scores


@dataclass(frozen=True)
class DistilReport:
    """What a distillation run produced."""

    version: str
    weights: str
    train_tracks: int
    train_patches: int
    held_out_tracks: int
    held_out_patches: int
    student_macs: int
    teacher_macs: int
    final_loss: float
    fidelity: dict[str, float]
    config: dict[str, object]


def distil(
    train_folders: Sequence[Path],
    held_out_folders: Sequence[Path],
    teacher: MusiCNN,
    *,
    out: Path,
    cache_dir: Path,
    config: DistilConfig,
    teacher_runtime: nn.Module | None = None,
    on_track: Callable[[], None] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> DistilReport:
    """Train a student on ``train_folders``, score it on ``held_out_folders``, write its weights to ``out``.

    ``teacher_runtime`` computes the teacher's outputs when given (its ONNX graph: the same outputs, faster);
    ``teacher`` gives the back end the student copies."""
    check_disjoint(train_folders, held_out_folders)
    teach = teacher_runtime or teacher
    train = collect(train_folders, teach, per_track=config.patches_per_track, cache_dir=cache_dir, on_track=on_track)
    held = collect(held_out_folders, teach, per_track=config.held_out_patches, cache_dir=cache_dir, on_track=on_track)
    losses: list[float] = []

    def record(epoch: int, loss: float) -> None:
        losses.append(loss)
        if on_epoch is not None:
            on_epoch(epoch, loss)

    student = train_student(train, teacher, config, on_epoch=record)
    options = " ".join(f"--{name.replace('_', '-')} {value}" for name, value in asdict(config).items())
    held_options = " ".join(f"--held-out {folder}" for folder in held_out_folders)
    recipe = f"soundalike train distil {' '.join(map(str, train_folders))} {held_options} {options}"
    version = save_student(student, out, recipe=recipe)
    return DistilReport(
        version=version,
        weights=str(out),
        train_tracks=len(train.paths),
        train_patches=len(train.patches),
        held_out_tracks=len(held.paths),
        held_out_patches=len(held.patches),
        student_macs=multiply_adds(student),
        teacher_macs=multiply_adds(teacher),
        final_loss=losses[-1] if losses else float("nan"),
        fidelity=fidelity(student, held),
        config=dict(asdict(config)),
    )
