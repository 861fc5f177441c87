"""An ingest and an index build each resolve the torch device once and hand that one object to every component."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

import soundalike.cli.index
import soundalike.cli.ingest
import soundalike.embed.ingest_consumer
import soundalike.embed.models
import soundalike.index.backends
import soundalike.ingest.device
import soundalike.ingest.pipeline
import soundalike.ingest.torch_features
from soundalike.ingest.settings import Settings

from support.cli_runner import run_cli

Call = tuple[tuple[Any, ...], Any]
"""(positional arguments, result) of one recorded call."""


def spy(monkeypatch: pytest.MonkeyPatch, function: Callable[..., Any]) -> list[Call]:
    """Record every call of ``function``, wherever a soundalike module holds it under any name."""
    calls: list[Call] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        calls.append((args, result))
        return result

    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("soundalike."):
            for name, value in list(vars(module).items()):
                if value is function:
                    monkeypatch.setattr(module, name, recording)
    return calls


@pytest.mark.slow
def test_ingest_and_index_build_resolve_the_device_once_each_and_every_component_runs_on_it(
    library: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOUNDALIKE_DEVICE", "cpu")
    monkeypatch.setenv("SOUNDALIKE_FEATURE_EXTRACTOR", "torch")  # a feature batcher on the CPU too
    resolved = spy(monkeypatch, soundalike.ingest.device.resolve_device)
    batchers = spy(monkeypatch, soundalike.ingest.torch_features.track_feature_batcher)
    consumers = spy(monkeypatch, soundalike.embed.ingest_consumer.consumer_for)
    models = spy(monkeypatch, soundalike.embed.models.embedding_model)
    backends = spy(monkeypatch, soundalike.index.backends.resolve_index_backend)

    assert run_cli(settings, "ingest", str(library), "--workers", "1")["embedded"] == 12
    assert len(resolved) == 1
    device = resolved[0][1]
    assert device == torch.device("cpu")
    [(batcher_args, batcher)] = batchers
    [(consumer_args, consumer)] = consumers
    assert batcher_args[1] is device and batcher.device is device
    assert consumer_args[1] is device and consumer.encoder.device is device

    assert run_cli(settings, "index", "build")["count"] == 12
    assert len(resolved) == 2
    device = resolved[1][1]
    [(model_args, model)] = models
    [(backend_args, backend)] = backends
    assert model_args[1] is device and model.device is device
    assert backend_args[0] is device
    assert batcher.device == consumer.encoder.device == model.device == backend.device == torch.device("cpu")
