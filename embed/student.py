"""A small CNN distilled from MusiCNN-MSD: the same outputs from the same log-mel patches, 9x cheaper (width 24).

The student reads MusiCNN's (N, 187, 96) log-mel patches and predicts the teacher's 1506-d pooled
mid-level features (standardised with the teacher's statistics, kept in the weights file); a copy of
the teacher's back end (BN -> dense 200 -> BN -> dense 50 -> sigmoid), frozen, turns them into the
penultimate layer and the tags, so it is a drop-in for the network (``SOUNDALIKE_CNN_RUNTIME=student``,
``embed/musicnn_runtime.py``). It is derived from MusiCNN (ISC licence, see ``weights/LICENSE-musicnn.txt``);
``embed.distil`` trains it (``soundalike train distil``, recipe in ``weights/NOTICE-musicnn-student.txt``).
Vectors it makes carry MusiCNN's version with the weights' own, never mixed with MusiCNN's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F

from soundalike.embed.musicnn import BN_EPS, WEIGHTS_DIR, MusiCNN, MusiCNNOutput
from soundalike.embed.musicnn_frontend import N_MELS, PATCH_FRAMES
from soundalike.ingest.atomic_files import atomic_write
from soundalike.ingest.errors import NotFoundError
from soundalike.ingest.settings import Settings

WEIGHTS_FILE = "musicnn-student.safetensors"
SHIPPED_WEIGHTS = WEIGHTS_DIR / WEIGHTS_FILE
POOLED_DIM = 1506
DEFAULT_WIDTH = 16


class _ConvBlock(nn.Module):
    """3x3 conv -> BN -> ReLU -> max-pool."""

    def __init__(self, cin: int, cout: int, pool: tuple[int, int]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(F.relu(self.bn(self.conv(x))), self.pool)


class BackEnd(nn.Module):
    """MusiCNN's back end after temporal pooling: pooled (1506) -> penultimate (200) -> tags (50)."""

    def __init__(self) -> None:
        super().__init__()
        self.pool_bn = nn.BatchNorm1d(POOLED_DIM, eps=BN_EPS)
        self.dense = nn.Linear(POOLED_DIM, 200)
        self.dense_bn = nn.BatchNorm1d(200, eps=BN_EPS)
        self.output = nn.Linear(200, 50)

    def forward(self, pooled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(penultimate, tag probabilities) of pooled features, as MusiCNN computes them."""
        penultimate = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        return penultimate, torch.sigmoid(self.output(penultimate))

    def copy_from(self, teacher: MusiCNN) -> None:
        """Take the teacher's back-end weights and freeze them."""
        for name in ("pool_bn", "dense", "dense_bn", "output"):
            getattr(self, name).load_state_dict(getattr(teacher, name).state_dict())
        self.requires_grad_(False)


class Student(nn.Module):
    """Four 3x3 conv blocks over (time, mel), a conv over time, max+mean pooling, an MLP to pooled features."""

    def __init__(self, width: int = DEFAULT_WIDTH) -> None:
        super().__init__()
        self.width = width
        self.input_bn = nn.BatchNorm2d(1)
        channels = (1, width, 2 * width, 4 * width, 8 * width)
        self.blocks = nn.ModuleList(
            _ConvBlock(channels[i], channels[i + 1], (2, 2) if i < 3 else (1, 1)) for i in range(4)
        )
        self.temporal = nn.Conv1d(8 * width, 16 * width, 3, padding=1, bias=False)
        self.temporal_bn = nn.BatchNorm1d(16 * width)
        self.head = nn.Sequential(nn.Linear(32 * width, 32 * width), nn.ReLU(), nn.Linear(32 * width, POOLED_DIM))
        self.pooled_mean: torch.Tensor
        self.pooled_std: torch.Tensor
        self.register_buffer("pooled_mean", torch.zeros(POOLED_DIM))
        self.register_buffer("pooled_std", torch.ones(POOLED_DIM))
        self.back = BackEnd()

    def standardised_pooled(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1506) predicted pooled features of (N, time, 96) patches, in the teacher's standard units."""
        if x.ndim != 3 or x.shape[2] != N_MELS:
            raise ValueError(f"expected log-mel patches of shape (N, time, {N_MELS}), got {tuple(x.shape)}")
        h = self.input_bn(x.unsqueeze(1))
        for block in self.blocks:
            h = block(h)
        h = F.relu(self.temporal_bn(self.temporal(h.amax(dim=3))))
        return self.head(torch.cat([h.amax(dim=2), h.mean(dim=2)], dim=1))

    def forward(self, x: torch.Tensor) -> MusiCNNOutput:
        """Tags, penultimate and pooled features, as ``MusiCNN.forward`` gives them."""
        pooled = self.standardised_pooled(x) * self.pooled_std + self.pooled_mean
        penultimate, tags = self.back(pooled)
        return MusiCNNOutput(tags=tags, penultimate=penultimate, pooled=pooled)


def multiply_adds(model: nn.Module, frames: int = PATCH_FRAMES) -> int:
    """Multiply-adds of the convolutions and linear layers for one (frames, 96) patch."""
    total = 0

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv1d | nn.Conv2d):
            per_output = module.in_channels // module.groups * int(torch.tensor(module.kernel_size).prod())
            total += output.numel() * per_output
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features

    hooks = [
        m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Linear)
    ]
    try:
        with torch.inference_mode():
            model.eval()(torch.zeros(1, frames, N_MELS))
    finally:
        for hook in hooks:
            hook.remove()
    return total


def save_student(model: Student, path: Path, *, recipe: str) -> str:
    """Write the weights as safetensors with their width, recipe and version; returns the version."""
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items() if "num_batches" not in k}
    digest = hashlib.sha256(b"".join(state[k].numpy().tobytes() for k in sorted(state))).hexdigest()[:8]
    version = f"student-w{model.width}-{digest}"
    metadata = {"width": str(model.width), "version": version, "recipe": recipe}
    atomic_write(path, lambda tmp: save_file(state, str(tmp), metadata=metadata))
    return version


def load_student(path: Path) -> tuple[Student, str]:
    """(student in eval mode, version) from a weights file written by ``save_student``."""
    from safetensors import safe_open

    version = weights_version(path)
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata() or {}
    model = Student(width=int(metadata.get("width", DEFAULT_WIDTH)))
    missing, unexpected = model.load_state_dict(load_file(str(path)), strict=False)
    missing = [key for key in missing if not key.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{path} does not fit the student: missing {missing}, unexpected {unexpected}")
    model.back.requires_grad_(False)
    return model.eval(), version


def weights_version(path: Path) -> str:
    """The version stored in a student weights file's metadata, without loading the weights."""
    if not path.is_file():
        raise NotFoundError(f"no student weights at {path} (train them: soundalike train distil)")
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return (f.metadata() or {}).get("version", "student-unversioned")


def weights_path(settings: Settings) -> Path:
    """The catalogue's own student (``train distil``) when there is one, else the shipped weights."""
    own = settings.models_dir / WEIGHTS_FILE
    return own if own.is_file() else SHIPPED_WEIGHTS
