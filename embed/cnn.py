"""Networks trained here on log-mel patches: a small CNN from scratch, or MusiCNN with a new head.

Both take (N, frames, 96) MusiCNN log-mel patches and return (embedding, class logits).
"""

from __future__ import annotations

import torch
from torch import nn

from soundalike.embed.musicnn import MusiCNN, load_musicnn
from soundalike.embed.musicnn_frontend import N_MELS

ARCHITECTURES = ("small-cnn", "musicnn-finetuned")


class SmallCNN(nn.Module):
    """Four conv blocks (3x3 conv, BN, ReLU, 2x2 max-pool) then mean+max pooling and a linear embedding."""

    def __init__(self, n_classes: int, *, width: int = 16, embedding_dim: int = 64) -> None:
        super().__init__()
        channels = [1, width, 2 * width, 4 * width, 4 * width]
        layers: list[nn.Module] = [nn.BatchNorm2d(1)]
        for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        self.embed = nn.Linear(2 * channels[-1], embedding_dim)
        self.dropout = nn.Dropout(0.3)
        self.classify = nn.Linear(embedding_dim, n_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(embedding (N, d), logits (N, classes)) of log-mel patches (N, frames, 96)."""
        if x.ndim != 3 or x.shape[2] != N_MELS:
            raise ValueError(f"expected log-mel patches of shape (N, frames, {N_MELS}), got {tuple(x.shape)}")
        h = self.features(x.unsqueeze(1)).flatten(2)
        embedding = torch.relu(self.embed(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)))
        return embedding, self.classify(self.dropout(embedding))


class MusicnnClassifier(nn.Module):
    """The pretrained MusiCNN backbone with a new genre head on its 200-d penultimate layer.

    Unless ``train_front``, the front end (input BN and the five spectro-temporal conv blocks, most of
    the cost) stays frozen in eval mode and only the mid and back end are fine-tuned: on a CPU that
    makes a training step ~10x cheaper, and a few dozen tracks cannot re-learn timbre filters anyway.
    """

    def __init__(self, n_classes: int, *, pretrained: bool = True, train_front: bool = False) -> None:
        super().__init__()
        self.backbone: MusiCNN = load_musicnn("MSD_musicnn") if pretrained else MusiCNN()
        self.classify = nn.Linear(200, n_classes)
        self.train_front = train_front
        for parameter in [*self.backbone.input_bn.parameters(), *self.backbone.front.parameters()]:
            parameter.requires_grad_(train_front)

    def train(self, mode: bool = True) -> MusicnnClassifier:
        """Training mode, except a frozen front end, whose batch-norm statistics stay as trained."""
        super().train(mode)
        if not self.train_front:
            self.backbone.input_bn.eval()
            self.backbone.front.eval()
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(penultimate embedding (N, 200), logits (N, classes))."""
        embedding = self.backbone(x).penultimate
        return embedding, self.classify(embedding)


def build_network(architecture: str, n_classes: int, *, pretrained: bool = True) -> nn.Module:
    """A fresh network of a known architecture (MusiCNN starts from the shipped weights when pretrained)."""
    if architecture == "small-cnn":
        return SmallCNN(n_classes)
    if architecture == "musicnn-finetuned":
        return MusicnnClassifier(n_classes, pretrained=pretrained)
    raise ValueError(f"unknown architecture {architecture!r}; expected one of {ARCHITECTURES}")
