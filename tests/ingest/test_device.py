"""The one factory that turns the device preference into a torch device."""

from __future__ import annotations

import pytest
import torch

from soundalike.ingest.device import resolve_device
from soundalike.ingest.errors import ConfigError

HAS_CUDA = torch.cuda.is_available()


def test_resolve_device_cpu_is_cpu() -> None:
    assert resolve_device("cpu") == torch.device("cpu")


def test_resolve_device_auto_falls_back_to_cpu_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")


@pytest.mark.skipif(HAS_CUDA, reason="CUDA is available here, so 'cuda' resolves instead of raising")
def test_resolve_device_cuda_without_a_gpu_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="cuda"):
        resolve_device("cuda")


def test_resolve_device_rejects_unknown_preference() -> None:
    with pytest.raises(ConfigError, match="'tpu'"):
        resolve_device("tpu")
