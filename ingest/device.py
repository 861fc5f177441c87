"""Which torch device Soundalike computes on, decided once and passed down."""

from __future__ import annotations

import torch

from soundalike.ingest.errors import ConfigError

_PREFERENCES = ("auto", "cpu", "cuda")


def resolve_device(preference: str = "auto") -> torch.device:
    """Turn a device preference (``"auto"``, ``"cpu"`` or ``"cuda"``) into a ``torch.device``.

    ``"auto"`` picks CUDA when torch can see a CUDA device and the CPU otherwise. Asking for
    ``"cuda"`` on a machine without one raises ``ConfigError`` rather than failing later inside torch.
    """
    if preference not in _PREFERENCES:
        raise ConfigError(f"device preference {preference!r} is not one of {', '.join(_PREFERENCES)}")
    if preference == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if preference == "cuda":
        raise ConfigError(
            "device preference 'cuda' was requested but torch sees no CUDA device "
            f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}); use 'auto' or 'cpu'"
        )
    return torch.device("cpu")
