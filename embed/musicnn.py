"""MusiCNN (Pons & Serra, 2019) ported to torch; its log-mel front end is ``musicnn_frontend``.

The network and the weights in ``weights/`` come from the ``musicnn`` 0.1.0 wheel (ISC licence, see
``weights/LICENSE-musicnn.txt``); ``scripts/convert_musicnn.py`` converts the TensorFlow checkpoints and
``tests/embed/test_musicnn_port.py`` checks this port against the original graph's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn
from torch.nn import functional as F

from soundalike.embed.musicnn_frontend import N_MELS

BN_EPS = 1e-3

WEIGHTS_DIR = Path(__file__).parent / "weights"

MSD_TAGS: tuple[str, ...] = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul",
    "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies",
    "blues", "hard rock", "ambient", "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop",
    "70s", "party", "country", "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal",
    "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy",
)  # fmt: skip

MTT_TAGS: tuple[str, ...] = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
    "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing", "vocals",
    "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft",
    "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal",
    "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral",
)  # fmt: skip

CHECKPOINT_TAGS: dict[str, tuple[str, ...]] = {"MSD_musicnn": MSD_TAGS, "MTT_musicnn": MTT_TAGS}
"""The tag vocabulary of each shipped checkpoint, in output order."""


@dataclass(frozen=True)
class MusiCNNOutput:
    """What one forward pass gives for N patches."""

    tags: torch.Tensor
    """(N, 50) tag probabilities."""
    penultimate: torch.Tensor
    """(N, 200) batch-normalised penultimate layer."""
    pooled: torch.Tensor
    """(N, 1506) mid-level features pooled over time, interleaved as [max0, mean0, max1, mean1, ...]."""


class _FrontBlock(nn.Module):
    """Conv over (time, freq) -> ReLU -> BN -> max over frequency, with explicit time padding."""

    def __init__(self, kernel: tuple[int, int], filters: int, time_pad: tuple[int, int]) -> None:
        super().__init__()
        self.time_pad = time_pad
        self.conv = nn.Conv2d(1, filters, kernel)
        self.bn = nn.BatchNorm2d(filters, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, 0, *self.time_pad))
        return self.bn(F.relu(self.conv(x))).amax(dim=3)


class _MidBlock(nn.Module):
    """Conv over time with all features as channels ('same' length) -> ReLU -> BN."""

    def __init__(self, in_channels: int, filters: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, filters, 7, padding=3)
        self.bn = nn.BatchNorm1d(filters, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(F.relu(self.conv(x)))


def _same_pad(kernel: int) -> tuple[int, int]:
    """TensorFlow 'SAME' padding at stride 1: the extra pad of an even kernel goes at the end."""
    return (kernel - 1) // 2, kernel // 2


class MusiCNN(nn.Module):
    """MusiCNN tagger: musically motivated front end, dense mid end, temporal pooling back end.

    Input is a batch of log-mel patches (N, time, 96) from ``musicnn_frontend.musicnn_logmel``; the network was
    trained on 187-frame (3 s) patches but accepts any length.
    """

    def __init__(self, n_tags: int = 50, mid_filters: int = 64, dense_units: int = 200) -> None:
        super().__init__()
        timbral_filters, temporal_filters = int(1.6 * 128), int(1.6 * 32)
        self.input_bn = nn.BatchNorm2d(1, eps=BN_EPS)
        self.front = nn.ModuleList(
            [
                _FrontBlock((7, int(0.4 * N_MELS)), timbral_filters, (3, 3)),
                _FrontBlock((7, int(0.7 * N_MELS)), timbral_filters, (3, 3)),
                *(_FrontBlock((k, 1), temporal_filters, _same_pad(k)) for k in (128, 64, 32)),
            ]
        )
        front_channels = 2 * timbral_filters + 3 * temporal_filters
        self.mid = nn.ModuleList(
            [
                _MidBlock(front_channels, mid_filters),
                _MidBlock(mid_filters, mid_filters),
                _MidBlock(mid_filters, mid_filters),
            ]
        )
        pooled = 2 * (front_channels + 3 * mid_filters)
        self.pool_bn = nn.BatchNorm1d(pooled, eps=BN_EPS)
        self.dense = nn.Linear(pooled, dense_units)
        self.dense_bn = nn.BatchNorm1d(dense_units, eps=BN_EPS)
        self.output = nn.Linear(dense_units, n_tags)

    def forward(self, x: torch.Tensor) -> MusiCNNOutput:
        """Tag probabilities and embeddings for log-mel patches of shape (N, time, 96)."""
        if x.ndim != 3 or x.shape[2] != N_MELS:
            raise ValueError(f"expected log-mel patches of shape (N, time, {N_MELS}), got {tuple(x.shape)}")
        x = self.input_bn(x.unsqueeze(1))
        front = torch.cat([block(x) for block in self.front], dim=1)
        m1 = self.mid[0](front)
        m2 = self.mid[1](m1) + m1
        m3 = self.mid[2](m2) + m2
        features = torch.cat([front, m1, m2, m3], dim=1)
        pooled = torch.stack([features.amax(dim=2), features.mean(dim=2)], dim=2).flatten(1)
        penultimate = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
        tags = torch.sigmoid(self.output(penultimate))
        return MusiCNNOutput(tags=tags, penultimate=penultimate, pooled=pooled)


def load_musicnn(name: str = "MSD_musicnn") -> MusiCNN:
    """MusiCNN in eval mode with the pretrained weights of checkpoint ``name`` (see CHECKPOINT_TAGS)."""
    if name not in CHECKPOINT_TAGS:
        raise ValueError(f"unknown MusiCNN checkpoint {name!r}; expected one of {sorted(CHECKPOINT_TAGS)}")
    model = MusiCNN()
    state = load_file(WEIGHTS_DIR / f"{name}.safetensors")
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [key for key in missing if not key.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"weights file for {name} does not fit MusiCNN: missing {missing}, unexpected {unexpected}")
    return model.eval()
