"""Training a genre network on log-mel patches of labelled tracks, with augmentation and early stopping.

Tracks are split by album/artist group (``genre_head.group_split``). Every epoch draws random crops of
the training tracks and augments them (gain, noise floor, mixup, all in the mel power domain); the
held-out tracks are scored on all their non-overlapping crops (mean logits per track). The state with
the lowest held-out loss is kept and training stops after ``patience`` epochs without improvement.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from soundalike.embed.cnn import build_network
from soundalike.embed.genre_head import group_split
from soundalike.ingest.errors import InputError, PreconditionError


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run."""

    architecture: str = "small-cnn"
    crop_frames: int = 128
    crops_per_track: int = 4
    batch_size: int = 32
    epochs: int = 40
    patience: int = 6
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    gain_db: float = 6.0
    noise_floor: float = 1e-4
    mixup_alpha: float = 0.3
    test_fraction: float = 0.3
    seed: int = 0


@dataclass
class TrainResult:
    """The best network (held-out loss), its classes, per-epoch history and the held-out mask."""

    model: nn.Module
    classes: list[str]
    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = 0
    held_out: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @property
    def val_accuracy(self) -> float | None:
        """Held-out track accuracy at the best epoch (None without a held-out split)."""
        values = self.history.get("val_accuracy")
        return values[self.best_epoch - 1] if values else None


def random_crops(logmel: np.ndarray, n: int, frames: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random (frames, bands) crops of a (T, bands) log-mel, zero-padded at the end when shorter."""
    if logmel.shape[0] < frames:
        logmel = np.pad(logmel, ((0, frames - logmel.shape[0]), (0, 0)))
    starts = rng.integers(0, logmel.shape[0] - frames + 1, size=n)
    return np.stack([logmel[s : s + frames] for s in starts])


def tiled_crops(logmel: np.ndarray, frames: int) -> np.ndarray:
    """Non-overlapping (frames, bands) crops covering the log-mel; a shorter one is repeated to fill one crop."""
    if 0 < logmel.shape[0] < frames:
        logmel = np.tile(logmel, (-(-frames // logmel.shape[0]), 1))
    n = logmel.shape[0] // frames
    return logmel[: n * frames].reshape(n, frames, logmel.shape[1])


def augment(
    batch: torch.Tensor, targets: torch.Tensor, config: TrainConfig, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random gain, a random noise floor and mixup of MusiCNN log-mels ``log10(1e4 p + 1)``; soft targets."""
    power = (torch.pow(10.0, batch) - 1.0) / 1e4
    n = batch.shape[0]
    gain_db = (torch.rand(n, 1, 1, generator=generator) * 2 - 1) * config.gain_db
    noise = torch.rand(n, 1, 1, generator=generator) * config.noise_floor
    power = power * torch.pow(10.0, gain_db / 10) + noise * torch.rand(power.shape, generator=generator)
    if config.mixup_alpha > 0:
        beta = torch.distributions.Beta(config.mixup_alpha, config.mixup_alpha)
        lam = beta.sample((n,)).clamp(0.0, 1.0)
        lam = torch.maximum(lam, 1 - lam)
        partner = torch.randperm(n, generator=generator)
        power = lam[:, None, None] * power + (1 - lam[:, None, None]) * power[partner]
        targets = lam[:, None] * targets + (1 - lam[:, None]) * targets[partner]
    return torch.log10(1e4 * power.clamp_min(0.0) + 1.0), targets


def track_logits(model: nn.Module, logmels: list[np.ndarray], frames: int) -> torch.Tensor:
    """(tracks, classes) mean logits over each track's non-overlapping crops, in eval mode."""
    model.eval()
    with torch.inference_mode():
        return torch.stack(
            [model(torch.from_numpy(np.ascontiguousarray(tiled_crops(m, frames))))[1].mean(dim=0) for m in logmels]
        )


def train_network(
    logmels: list[np.ndarray],
    labels: list[str],
    groups: list[str],
    config: TrainConfig,
    *,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train ``config.architecture`` on (T, 96) log-mels of labelled tracks; see the module docstring."""
    if not len(logmels) == len(labels) == len(groups):
        raise InputError(f"{len(logmels)} log-mels, {len(labels)} labels and {len(groups)} groups differ in count")
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise PreconditionError(f"need tracks of at least 2 genres to train, found {classes or 'none'}")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    y = np.array([classes.index(label) for label in labels])
    held_out = group_split(groups, labels, test_fraction=config.test_fraction, seed=config.seed)
    train_idx = np.flatnonzero(~held_out)
    val_idx = np.flatnonzero(held_out)
    model = build_network(config.architecture, len(classes))
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "train_accuracy": [], "val_accuracy": []}
    best_loss, best_epoch, best_state = np.inf, 0, copy.deepcopy(model.state_dict())
    for epoch in range(1, config.epochs + 1):
        crops = np.concatenate(
            [random_crops(logmels[i], config.crops_per_track, config.crop_frames, rng) for i in train_idx]
        )
        crop_y = np.repeat(y[train_idx], config.crops_per_track)
        order = rng.permutation(len(crops))
        model.train()
        losses, correct = [], 0
        for start in range(0, len(order), config.batch_size):
            pick = order[start : start + config.batch_size]
            if len(pick) < 2:
                continue
            targets = F.one_hot(torch.from_numpy(crop_y[pick]), len(classes)).float()
            batch, soft = augment(torch.from_numpy(crops[pick]), targets, config, generator)
            logits = model(batch)[1]
            loss = torch.sum(-soft * F.log_softmax(logits, dim=1), dim=1).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
            correct += int((logits.argmax(dim=1) == soft.argmax(dim=1)).sum())
        history["train_loss"].append(float(np.mean(losses)))
        history["train_accuracy"].append(correct / len(order))
        if len(val_idx):
            logits = track_logits(model, [logmels[i] for i in val_idx], config.crop_frames)
            target = torch.from_numpy(y[val_idx])
            val_loss = float(F.cross_entropy(logits, target))
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(float((logits.argmax(dim=1) == target).float().mean()))
        else:
            val_loss = history["train_loss"][-1]
        if val_loss < best_loss:
            best_loss, best_epoch, best_state = val_loss, epoch, copy.deepcopy(model.state_dict())
        if on_epoch is not None:
            on_epoch(epoch, {name: values[-1] for name, values in history.items() if values})
        if epoch - best_epoch >= config.patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(model, classes, {k: v for k, v in history.items() if v}, best_epoch, held_out)
