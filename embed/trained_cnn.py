"""The CNN trained on the catalogue's labelled tracks: training run, checkpoint and track embeddings.

Labels are the trusted genres (label, curator, tag; never a curator-rejected one). The checkpoint is one
safetensors file with its metadata in the header (``embed/checkpoint.py``) in the models folder; the training
curves go to the plots folder.
Track embedding: mean of the network's embedding over up to ``MAX_CROPS`` non-overlapping crops
spread over the decoded audio, L2-normalised; a track shorter than one crop is looped to fill it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from sqlalchemy import select
from sqlalchemy.orm import Session
from torch import nn

from soundalike.embed.checkpoint import load_checkpoint, save_checkpoint
from soundalike.embed.cnn import build_network
from soundalike.embed.decodable import each_decodable
from soundalike.embed.genre_head import training_labels
from soundalike.embed.musicnn_frontend import LOOPED_NOTE, PATCH_FRAMES, SAMPLE_RATE, musicnn_logmel
from soundalike.embed.plots import curves_png
from soundalike.embed.store import embed_stale_tracks
from soundalike.embed.training import TrainConfig, tiled_crops, train_network
from soundalike.embed.unit_norm import unit_rows
from soundalike.ingest.audio import load
from soundalike.ingest.db.models import Track
from soundalike.ingest.paths import from_db_path
from soundalike.ingest.repository import add_track_note
from soundalike.ingest.settings import Settings

MODEL_NAME = "cnn-trained"
WEIGHTS_FILE = "cnn-trained.safetensors"
CURVES_FILE = "cnn-training.png"
MAX_CROPS = 8


@dataclass(frozen=True)
class CnnMeta:
    """What a trained network is, what it was trained on and how it did on held-out groups."""

    version: str
    architecture: str
    classes: list[str]
    crop_frames: int
    best_epoch: int
    val_accuracy: float | None
    n_train: int
    n_held_out: int
    config: dict[str, object]
    history: dict[str, list[float]]


def decode_logmel(path: Path, settings: Settings) -> np.ndarray:
    """MusiCNN log-mel (frames, 96) of a file decoded at 16 kHz under the ingest analysis policy."""
    return musicnn_logmel(y=load(path, sr=SAMPLE_RATE, max_bytes=settings.max_file_bytes).samples)


def train_catalogue_cnn(
    session: Session,
    settings: Settings,
    config: TrainConfig,
    *,
    on_track: Callable[[], None] | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> CnnMeta:
    """Train on every decodable track with a training label (``training_labels``); save checkpoint, sidecar and
    curves."""
    labels = {t: (label.genre, label.group) for t, label in training_labels(session).items()}
    paths: dict[int, str] = dict(session.execute(select(Track.id, Track.path).where(Track.id.in_(list(labels)))).all())
    logmels, genres, groups = [], [], []
    for ((genre, group), _path), logmel in each_decodable(
        [(labels[t], from_db_path(paths[t])) for t in labels],
        lambda item: decode_logmel(item[1], settings),
        on_item=on_track,
    ):
        logmels.append(logmel)
        genres.append(genre)
        groups.append(group)
    result = train_network(logmels, genres, groups, config, on_epoch=on_epoch)
    state = {k: v.detach().contiguous() for k, v in result.model.state_dict().items()}
    digest = hashlib.blake2b(digest_size=4)
    for key in sorted(state):
        digest.update(state[key].numpy().tobytes())
    meta = CnnMeta(
        version=f"{config.architecture}-{digest.hexdigest()}",
        architecture=config.architecture,
        classes=result.classes,
        crop_frames=config.crop_frames,
        best_epoch=result.best_epoch,
        val_accuracy=result.val_accuracy,
        n_train=int((~result.held_out).sum()),
        n_held_out=int(result.held_out.sum()),
        config=asdict(config),
        history=result.history,
    )
    save_checkpoint(settings.models_dir / WEIGHTS_FILE, state, asdict(meta))
    curves_png(result.history, settings.plots_dir / CURVES_FILE, title=f"{meta.version} (best epoch {meta.best_epoch})")
    return meta


def load_trained_cnn(models_dir: Path) -> tuple[CnnMeta, nn.Module]:
    """The saved network in eval mode and its metadata; NotFoundError before ``train cnn``."""
    state, saved = load_checkpoint(models_dir / WEIGHTS_FILE, what="trained CNN", command="soundalike train cnn")
    meta = CnnMeta(**saved)
    model = build_network(meta.architecture, len(meta.classes), pretrained=False)
    model.load_state_dict(state)
    return meta, model.eval()


def crop_embeddings(model: nn.Module, logmel: np.ndarray, crop_frames: int) -> np.ndarray:
    """(crops, d) embeddings of the log-mel's non-overlapping crops."""
    with torch.inference_mode():
        return model(torch.from_numpy(np.ascontiguousarray(tiled_crops(logmel, crop_frames))))[0].numpy()


def track_vector(per_crop: np.ndarray, *, limit: int = MAX_CROPS) -> np.ndarray:
    """Unit-norm mean over at most ``limit`` crops spread evenly over the track."""
    if len(per_crop) > limit:
        per_crop = per_crop[np.linspace(0, len(per_crop) - 1, limit).round().astype(int)]
    return unit_rows(per_crop.mean(axis=0, keepdims=True))[0]


def refresh_embeddings(
    session: Session, settings: Settings, *, on_track: Callable[[], None] | None = None
) -> tuple[int, str]:
    """Embed the ok tracks that lack an embedding of the current network; returns (count, version)."""
    meta, model = load_trained_cnn(settings.models_dir)

    def embed_track(track_id: int, path: Path) -> np.ndarray:
        logmel = decode_logmel(path, settings)
        if len(logmel) < meta.crop_frames:
            add_track_note(session, track_id, LOOPED_NOTE)
        return track_vector(crop_embeddings(model, logmel, meta.crop_frames))

    return embed_stale_tracks(session, MODEL_NAME, meta.version, embed_track, on_track=on_track), meta.version


def finetune_config(config: TrainConfig) -> TrainConfig:
    """``config`` for fine-tuning MusiCNN: its 3 s patches and a gentler learning rate."""
    return replace(
        config, architecture="musicnn-finetuned", crop_frames=PATCH_FRAMES, learning_rate=config.learning_rate / 10
    )
